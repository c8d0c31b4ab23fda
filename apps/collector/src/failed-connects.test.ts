/**
 * Failed connects on the real kernel (issue #13): a refused connect is one record — DROPPED, refused, with
 * its client named and a duration that is not negative — and a service that died keeps its name on the
 * connects it refuses afterwards. Real clients (curl), a real server process, the real API and PostgreSQL.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { searchFlows, serviceMap } from '@sextant/db';
import { FlowQueryFilter } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { kernelRig } from './testing/kernel-rig';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('failed-connects');

/** The collector's cache of /proc per process (ms): the tests wait past it for a killed server to be forgotten. */
const PROCESS_CACHE_MS = 1_000;
const collectorOptions = { processCacheMs: PROCESS_CACHE_MS };

/** A loopback port nothing listens on (bound, then closed again). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Runs curl against a loopback port n times, one after the other; returns the curl pids. */
async function curlTimes(port: number, n: number): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < n; i++) {
    const child = execFile('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
    if (child.pid) pids.push(child.pid);
    await new Promise((r) => child.on('exit', r));
  }
  return pids;
}

const rows = async (port: number) => (await rig.db.pool.query(`SELECT * FROM flows WHERE dst_port = $1 ORDER BY time`, [port])).rows;

describe.skipIf(rig.skip)('failed connects on the real kernel', () => {
  it('stores a refused connect as one DROPPED record naming its client, with no separate NO_SOCKET drop', async () => {
    const port = await closedPort();
    const collector = await rig.startCollector(collectorOptions);
    const N = 20;
    const pids = await curlTimes(port, N);
    await waitFor(
      async () => (await rows(port)).length,
      (n) => n >= N,
    );
    await collector.stop(); // drains the drop map once more: a NO_SOCKET drop left there would be stored now
    await new Promise((r) => setTimeout(r, 500));

    const stored = await rows(port);
    expect(stored).toHaveLength(N);
    for (const f of stored) {
      expect(f).toMatchObject({
        verdict: 'DROPPED',
        drop_reason: 'CONNECTION_REFUSED',
        close_reason: 'REFUSED',
        l4_protocol: 'TCP',
        traffic_direction: 'EGRESS',
        src_process: 'curl',
        src_service: 'curl',
        dst_ip: '127.0.0.1',
        dst_service: `127.0.0.1:${port}`,
      });
      expect(f.tcp_flags & 8).toBe(8); // RST (TCP_FLAGS bit 3): the answer that refused it
      expect(Number(f.packets_sent)).toBe(1); // its SYN: what rollups count for a DROPPED record
      expect(f.end_time.getTime()).toBeGreaterThanOrEqual(f.time.getTime());
    }
    expect(new Set(stored.map((f) => f.src_pid))).toEqual(new Set(pids));
    // The client's SYN was also dropped by the kernel (NO_SOCKET): not a second record, from any source.
    const drops = await rig.db.pool.query(
      `SELECT count(*)::int AS n FROM flows WHERE drop_reason = 'NO_SOCKET' AND (dst_port = $1 OR src_port = $1)`,
      [port],
    );
    expect(drops.rows[0].n).toBe(0);

    // As readers see them (the API's flow search): every duration is ≥ 0, to the microsecond.
    const found = await searchFlows(rig.db.pool, {
      filter: FlowQueryFilter.parse({ allow: [{ destinationPort: [String(port)] }] }),
      since: Date.now() - 600_000,
      until: Date.now() + 60_000,
      limit: 100,
    });
    const flows = found.items.flatMap((r) => (r.kind === 'flow' ? [r.flow] : []));
    expect(flows).toHaveLength(N);
    for (const f of flows) {
      expect(f.endTime).toBeDefined();
      expect(f.endTime! - f.time).toBeGreaterThanOrEqual(0);
    }
  });

  const SERVER = `
      process.title = 'payments-svc';
      const s = require('http').createServer((q, r) => r.end('ok'));
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

  /**
   * A server process with its own name, serving, then killed like an incident's failing dependency; its
   * clients' refused connects afterwards must name it. `reaped`: its parent collects it at once (its /proc
   * goes); otherwise it stays a zombie, whose /proc still shows its comm ('node') and nothing else.
   */
  async function deadServerNamed(reaped: boolean, byPackage = !reaped) {
    const collector = await rig.startCollector(collectorOptions);
    // Not reaped: `node server.js` named by its package.json (a zombie's /proc has no cwd or argv to find
    // it by, only its comm 'node'), forked by a perl parent that sleeps without waiting for it.
    const dir = rig.file('payments-svc');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'payments-svc' }));
    fs.writeFileSync(path.join(dir, 'server.js'), SERVER.replace("process.title = 'payments-svc';", ''));
    const server = !byPackage
      ? rig.spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
      : reaped
        ? rig.spawn(process.execPath, ['server.js'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
        : rig.spawn('perl', ['-e', 'my $p = fork(); if ($p == 0) { exec @ARGV } sleep 60;', process.execPath, 'server.js'], {
            cwd: dir,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
    const processName = byPackage ? 'node' : 'payments-svc';
    try {
      const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      await curlTimes(port, 3);
      const served = `SELECT count(*)::int AS n FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS' AND close_reason = 'CLOSED'`;
      await waitFor(
        async () => (await rig.db.pool.query(served, [port])).rows[0].n,
        (n) => n >= 3,
      );
      const pid = Number(
        (await rig.db.pool.query(`SELECT DISTINCT dst_pid FROM flows WHERE dst_port = $1 AND close_reason = 'CLOSED'`, [port])).rows[0]
          .dst_pid,
      );
      process.kill(pid, 'SIGKILL');
      if (reaped) await new Promise((r) => server.on('exit', r));
      // Past the collector's cache of what /proc says about a process (10 s by default, shortened here): the
      // dead server's pid no longer names anything (before the fix, its refused connects went to a node called
      // 127.0.0.1; a zombie's went to 'node').
      await new Promise((r) => setTimeout(r, PROCESS_CACHE_MS + 500));
      const M = 5;
      await curlTimes(port, M);
      const refused = `SELECT dst_service, dst_process, src_process, verdict FROM flows WHERE dst_port = $1 AND close_reason = 'REFUSED'`;
      const after = await waitFor(
        async () => (await rig.db.pool.query(refused, [port])).rows,
        (r) => r.length >= M,
      );
      expect(after).toHaveLength(M);
      for (const f of after)
        expect(f).toEqual({ dst_service: 'payments-svc', dst_process: processName, src_process: 'curl', verdict: 'DROPPED' });
      const before = (
        await rig.db.pool.query(`SELECT DISTINCT dst_service FROM flows WHERE dst_port = $1 AND close_reason = 'CLOSED'`, [port])
      ).rows;
      expect(before).toEqual([{ dst_service: 'payments-svc' }]);
      // On the map: the dead service is a node of its own, its refused connects a failing edge into it.
      const map = await serviceMap(rig.db.pool, { since: Date.now() - 600_000, until: Date.now() + 60_000 });
      const pair = map.edges.filter((e) => e.source === 'curl' && e.destination === 'payments-svc');
      expect(pair).toHaveLength(1);
      const drop = pair[0]?.protocols.find((p) => p.protocol === 'drop');
      expect(drop?.count).toBeGreaterThanOrEqual(M);
      expect(drop?.errors).toBe(drop?.count);
    } finally {
      server.kill('SIGKILL');
      await collector.stop();
    }
  }

  it("names a killed server's refused connects after the service, not after its address", () => deadServerNamed(true), 60_000);

  it('names them after the package-named service once it is reaped', () => deadServerNamed(true, true), 60_000);

  it('names them after the service also while the killed server is a zombie nobody reaped', () => deadServerNamed(false), 60_000);
});
