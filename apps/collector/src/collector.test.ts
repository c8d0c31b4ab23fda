/**
 * The whole path on the real kernel: real clients (curl, node) against a real server process, observed by
 * the collector, shipped over tRPC to the real API and PostgreSQL; asserted against what the test did. TCP
 * connections, a server outage, nginx, the collector process killed, command-line errors; UDP conversations and
 * interim reports in collector-udp.test.ts.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { serviceMap } from '@sextant/db';
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_BIN, collectorLaunch } from '../scripts/node-flags.mjs';
import { Collector } from './collector';
import { api, config, count, db, noKernel, restartApi, run, tmp, token, useCollectorSuite, webPort } from './testing/collector-suite';
import { waitFor } from './testing/wait-for';

useCollectorSuite();

describe.skipIf(noKernel)('collector on the real kernel', () => {
  it('stores exactly the connections curl made, with pids, names, bytes and a refused connect', async () => {
    const collector = new Collector(config(), () => {});
    await collector.start();
    const N = 12;
    const pids: number[] = [];
    for (let i = 0; i < N; i++) {
      const child = execFile('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${webPort}/${i % 4 === 0 ? 'fail' : 'ok'}`]);
      if (child.pid) pids.push(child.pid);
      await new Promise((r) => child.on('exit', r));
    }
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await run('curl', ['-s', `http://127.0.0.1:${closed}/`]).catch(() => {});
    await waitFor(
      () => count(`SELECT count(*) AS n FROM flows WHERE dst_port = $1`, [webPort]),
      (n) => n >= 2 * N,
    );
    await waitFor(
      () => count(`SELECT count(*) AS n FROM flows WHERE dst_port = $1`, [closed]),
      (n) => n >= 1,
    );
    await collector.stop();

    const clientSide = (
      await db.pool.query(`SELECT * FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS' ORDER BY time`, [webPort])
    ).rows;
    expect(clientSide).toHaveLength(N);
    for (const f of clientSide) {
      expect(f.src_process).toBe('curl');
      expect(f.src_service).toBe('curl');
      expect(f.dst_service).toBe('web-api');
      expect(f.dst_namespace).toBe('shop');
      expect(f.close_reason).toBe('CLOSED');
      expect(f.verdict).toBe('FORWARDED');
      expect(f.local_peer).toBe(true);
      expect(Number(f.bytes_sent)).toBeGreaterThan(70); // an HTTP GET request line and headers
      expect(Number(f.bytes_received)).toBeGreaterThan(60);
    }
    expect(new Set(clientSide.map((f) => f.src_pid))).toEqual(new Set(pids));
    const serverSide = await count(
      `SELECT count(*) AS n FROM flows WHERE dst_port = $1 AND traffic_direction = 'INGRESS' AND dst_service = 'web-api' AND dst_process = 'node'`,
      [webPort],
    );
    expect(serverSide).toBe(N);
    // The refused connect is one record: its SYN, dropped by the kernel for want of a socket, is not another
    // (failed-connects.test.ts covers this in depth).
    const refused = (await db.pool.query(`SELECT * FROM flows WHERE dst_port = $1`, [closed])).rows;
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      verdict: 'DROPPED',
      drop_reason: 'CONNECTION_REFUSED',
      close_reason: 'REFUSED',
      src_process: 'curl',
    });

    // The map counts each same-host connection once, from its client side, with connect latency percentiles.
    const map = await serviceMap(db.pool, { since: Date.now() - 600_000, until: Date.now() + 60_000 });
    const pair = map.edges.find((e) => e.source === 'curl' && e.destination === 'shop/web-api');
    const tcp = pair?.protocols.find((p) => p.protocol === 'tcp');
    expect(tcp).toMatchObject({ kind: 'connections', count: N, errors: 0 });
    expect(pair?.connections).toBe(N);
    expect(tcp?.p95Ns).toBeGreaterThan(0);
    const hist = await count(
      `SELECT coalesce(sum(samples), 0) AS n FROM latency_minute WHERE kind = 'tcp_connect' AND dst_service = 'web-api'`,
    );
    expect(hist).toBe(N);
    const health = (await db.pool.query(`SELECT last_health FROM collectors WHERE name = 'kernel-test'`)).rows[0].last_health;
    expect(health).toMatchObject({ hostname: 'kernel-test-node', lostEvents: 0, ebpf: { available: true } });
  });

  it('delivers every connection exactly once when the server goes away during traffic', async () => {
    const before = await count(`SELECT count(*) AS n FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS'`, [webPort]);
    const port = Number(new URL(api.url).port);
    const collector = new Collector(config({ spoolDir: path.join(tmp, 'spool-outage') }), () => {});
    await collector.start();
    const curlN = async (n: number) => {
      for (let i = 0; i < n; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${webPort}/ok`]);
    };
    await curlN(5);
    await waitFor(
      () => count(`SELECT count(*) AS n FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS'`, [webPort]),
      (n) => n >= before + 5,
    );
    // the server disappears mid-stream; batches fail and go to the spool
    await restartApi(port, async () => {
      await curlN(7);
      await new Promise((r) => setTimeout(r, 1_500));
    });
    await curlN(3);
    const total = await waitFor(
      () => count(`SELECT count(*) AS n FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS'`, [webPort]),
      (n) => n >= before + 15,
      30_000,
    );
    await collector.stop();
    expect(total).toBe(before + 15);
    expect(
      await count(`SELECT count(DISTINCT flow_id) AS n FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS'`, [webPort]),
    ).toBe(before + 15);
  });

  it('sees curl against nginx with the nginx worker as the server process', async (t) => {
    const which = await run('sh', ['-c', 'command -v nginx']).then(
      () => true,
      () => false,
    );
    if (missingPrerequisite(which, 'nginx is not installed (bash scripts/install-system-deps.sh test)')) return t.skip();
    const dir = path.join(tmp, 'nginx');
    fs.mkdirSync(dir, { recursive: true });
    const port = 19000 + Math.floor(Math.random() * 1000);
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 256; }
http { access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server { listen 127.0.0.1:${port}; location / { return 200 "hello"; } } }`,
    );
    const nginx = spawn('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    await waitFor(
      async () =>
        run('curl', ['-s', `http://127.0.0.1:${port}/`]).then(
          () => true,
          () => false,
        ),
      (ok) => ok,
      10_000,
    );
    const collector = new Collector(config({ spoolDir: path.join(tmp, 'spool-nginx') }), () => {});
    await collector.start();
    const N = 8;
    for (let i = 0; i < N; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
    const q = `SELECT count(*) AS n FROM flows WHERE dst_port = $1 AND traffic_direction = $2`;
    await waitFor(
      () => count(q, [port, 'INGRESS']),
      (n) => n >= N,
    );
    await collector.stop();
    nginx.kill('SIGQUIT');
    expect(await count(q, [port, 'EGRESS'])).toBe(N);
    expect(await count(q, [port, 'INGRESS'])).toBe(N);
    const server = (
      await db.pool.query(`SELECT DISTINCT dst_process, dst_service FROM flows WHERE dst_port = $1 AND traffic_direction = 'INGRESS'`, [
        port,
      ])
    ).rows;
    expect(server).toEqual([{ dst_process: 'nginx', dst_service: 'nginx' }]);
    // curl's own records name their server too: nginx listened before the collector started (found in /proc
    // at start and handed to the kernel side)
    const named = (
      await db.pool.query(`SELECT DISTINCT dst_process, dst_service FROM flows WHERE dst_port = $1 AND traffic_direction = 'EGRESS'`, [
        port,
      ])
    ).rows;
    expect(named).toEqual([{ dst_process: 'nginx', dst_service: 'nginx' }]);
    // nginx's record of each connection names its client (a socket of this host) like curl's own record does
    const pairs = (
      await db.pool.query(
        `SELECT traffic_direction AS dir, src_process, src_service, src_port FROM flows WHERE dst_port = $1 ORDER BY src_port, traffic_direction`,
        [port],
      )
    ).rows;
    expect(pairs).toHaveLength(2 * N);
    for (let i = 0; i < pairs.length; i += 2) {
      expect(pairs[i]).toMatchObject({ dir: 'EGRESS', src_process: 'curl', src_service: 'curl' });
      expect(pairs[i + 1]).toEqual({ ...pairs[i], dir: 'INGRESS' });
    }
  });

  it('leaves no attached programs when the collector process is killed, and restarts cleanly', async () => {
    const progs = async () => ((await run('bpftool', ['prog', 'show'])).stdout.match(/name sx_inet_sock_se/g) ?? []).length;
    const before = await progs();
    const launch = collectorLaunch();
    const env = {
      ...process.env,
      ...launch.env,
      SEXTANT_SERVER: api.url,
      SEXTANT_TOKEN: token,
      SEXTANT_SPOOL_DIR: path.join(tmp, 'spool2'),
    };
    const start = () => spawn(process.execPath, [...launch.flags, COLLECTOR_BIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const first = start();
    let out = '';
    first.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(
      async () => out,
      (o) => o.includes('observing'),
      30_000,
    );
    expect(await progs()).toBe(before + 1);
    first.kill('SIGKILL');
    await new Promise((r) => first.on('exit', r));
    expect(await waitFor(progs, (n) => n === before, 5_000)).toBe(before);
    const second = start();
    let out2 = '';
    second.stdout?.on('data', (d: Buffer) => (out2 += d.toString()));
    await waitFor(
      async () => out2,
      (o) => o.includes('observing'),
      30_000,
    );
    expect(await progs()).toBe(before + 1);
    second.kill('SIGTERM');
    const code = await new Promise((r) => second.on('exit', r));
    expect(code).toBe(0);
    expect(await progs()).toBe(before);
  });

  it('exits non-zero with a clear reason when not privileged', async () => {
    const launch = collectorLaunch();
    const res = await run(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--inh-caps=-all',
        process.execPath,
        ...launch.flags,
        COLLECTOR_BIN,
        '--server',
        api.url,
        '--token',
        token,
      ],
      {
        env: { ...process.env, ...launch.env, SEXTANT_SPOOL_DIR: path.join(tmp, 'spool-nobody') },
      },
    ).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(res?.code).toBe(1);
    expect(res?.stderr).toContain('eBPF is not available on this host: not privileged');
  });

  it('rejects bad flags with usage and exit code 2', async () => {
    const launch = collectorLaunch();
    const res = await run(process.execPath, [...launch.flags, COLLECTOR_BIN, '--server', 'not a url', '--token', 'x'], {
      env: { ...process.env, ...launch.env },
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(res?.code).toBe(2);
    expect(res?.stderr).toContain('server');
    expect(res?.stderr).toContain('token');
    expect(res?.stderr).toContain('usage: sextant-collector');
    const ring = await run(process.execPath, [...launch.flags, COLLECTOR_BIN, '--server', api.url, '--token', token], {
      env: { ...process.env, ...launch.env, SEXTANT_TCP_RING_MB: '3' },
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(ring?.code).toBe(2);
    expect(ring?.stderr).toContain('tcpRingMb: must be a power of two, 1..256');
  });
});
