/**
 * The whole path on the real kernel: real clients (curl, node) against a real server process, observed by
 * the collector, shipped over tRPC to the real API and PostgreSQL; asserted against what the test did.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { preflight } from '@sextant/bpf';
import { createCollectorToken, serviceMap } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { missingPrerequisite } from '@sextant/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './testing/wait-for';
import { Collector } from './collector';
import { CollectorConfig } from './env';

const run = promisify(execFile);
const pf = preflight();
const noKernel = missingPrerequisite(pf.ok, `collector kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);

let db: TestDatabase;
let api: StandaloneServer;
let token: string;
let web: ChildProcess;
let webPort: number;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-collector-'));

beforeAll(async () => {
  if (noKernel) return;
  db = await createTestDatabase(testServerUrl());
  api = await startStandaloneServer({ db, version: 'test' });
  token = (await createCollectorToken(db.prisma, 'kernel-test')).token;
  // A real HTTP server in its own process: 200 on /ok, 503 on /fail.
  web = spawn(
    process.execPath,
    [
      '-e',
      `
    const http = require('http');
    const s = http.createServer((q, r) => { r.writeHead(q.url === '/fail' ? 503 : 200); r.end('body'); });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  webPort = await new Promise<number>((resolve) => web.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
});

afterAll(async () => {
  web?.kill();
  await api?.close();
  await db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function config(extra: Partial<CollectorConfig> = {}): CollectorConfig {
  fs.writeFileSync(path.join(tmp, 'rules.json'), JSON.stringify([{ service: 'web-api', namespace: 'shop', match: { port: webPort } }]));
  return CollectorConfig.parse({
    server: api.url,
    token,
    nodeName: 'kernel-test-node',
    spoolDir: path.join(tmp, 'spool'),
    rulesFile: path.join(tmp, 'rules.json'),
    flushIntervalMs: 200,
    histogramIntervalMs: 1_000,
    healthIntervalMs: 1_000,
    ...extra,
  });
}

/** A node script in its own process (the collector does not observe its own process); lines of its stdout. */
function spawnNode(script: string): { line: () => Promise<string>; kill: () => void } {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    line: () =>
      new Promise<string>((resolve, reject) => {
        const l = lines.shift();
        if (l !== undefined) return resolve(l);
        const timer = setTimeout(() => reject(new Error(`no output from: ${script.trim().slice(0, 80)}`)), 10_000);
        waiters.push((x) => {
          clearTimeout(timer);
          resolve(x);
        });
      }),
    kill: () => child.kill(),
  };
}

const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

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
    await api.close(); // the server disappears mid-stream
    await curlN(7);
    await new Promise((r) => setTimeout(r, 1_500)); // batches fail and go to the spool
    api = await startStandaloneServer({ db, version: 'test' }, { port });
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
    const cli = path.resolve(__dirname, '..', 'bin', 'sextant-collector.mjs');
    const env = { ...process.env, SEXTANT_SERVER: api.url, SEXTANT_TOKEN: token, SEXTANT_SPOOL_DIR: path.join(tmp, 'spool2') };
    const start = () => spawn(process.execPath, [cli], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('stores UDP conversations per peer, resets, and interim reports of a long-lived connection', async () => {
    const collector = new Collector(config({ updateIntervalMs: 1_000 }), () => {});
    await collector.start();
    const children: { kill: () => void }[] = [];
    const nodeChild = (script: string) => {
      const c = spawnNode(script);
      children.push(c);
      return c;
    };
    try {
      // UDP: a server bound to "any" below the ephemeral range (so it reads as the server) answers 10 bytes
      // to each of N 100-byte datagrams from an unconnected client in another process.
      const N = 15;
      const udpServer = nodeChild(`
        const s = require('dgram').createSocket('udp4');
        s.on('message', (m, r) => s.send(Buffer.alloc(10), r.port, r.address));
        const bind = () => s.bind(20000 + Math.floor(Math.random() * 5000), '0.0.0.0');
        s.on('error', bind); s.on('listening', () => console.log(s.address().port)); bind();`);
      const sport = Number(await udpServer.line());
      const udpClient = nodeChild(`
        const c = require('dgram').createSocket('udp4'); let got = 0;
        c.on('message', () => { if (++got === ${N}) { console.log(c.address().port); c.close(); } });
        c.bind(0, '127.0.0.1', async () => {
          for (let i = 0; i < ${N}; i++) await new Promise((r) => c.send(Buffer.alloc(100), ${sport}, '127.0.0.1', r));
        });`);
      const cport = Number(await udpClient.line());
      // A reset: a server that aborts every connection on its first bytes.
      const rstServer = nodeChild(`
        const s = require('net').createServer((c) => c.on('data', () => c.resetAndDestroy()));
        s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
      const rport = Number(await rstServer.line());
      await run('curl', ['-s', `http://127.0.0.1:${rport}/`]).catch(() => {});
      // A long-lived connection: 100 bytes every 100 ms for 3.5 s to an echo server, then closed.
      const echo = nodeChild(`
        const s = require('net').createServer((c) => c.on('data', (d) => c.write(d)));
        s.listen(0, '127.0.0.1', () => console.log(s.address().port));`);
      const eport = Number(await echo.line());
      const talker = nodeChild(`
        const c = require('net').connect(${eport}, '127.0.0.1', () => {
          const t = setInterval(() => c.write(Buffer.alloc(100)), 100);
          setTimeout(() => { clearInterval(t); c.end(); console.log('done'); }, 3500);
        });
        c.on('data', () => {});`);
      await talker.line();

      const udp = async () =>
        (
          await db.pool.query(
            `SELECT traffic_direction AS dir, src_ip, dst_ip, min(src_process) AS proc, sum(packets_sent)::int AS ps, sum(bytes_sent)::int AS bs,
                sum(packets_received)::int AS pr, sum(bytes_received)::int AS br
           FROM flows WHERE l4_protocol = 'UDP' AND verdict = 'FORWARDED' AND src_port = $1 AND dst_port = $2
          GROUP BY 1, 2, 3 ORDER BY 1`,
            [cport, sport],
          )
        ).rows;
      const full = (rows: { ps: number; pr: number }[]) => rows.length === 2 && rows.every((r) => r.ps === N && r.pr === N);
      const udpRows = await waitFor(udp, full);
      // Both ends on this host: the client's own record and the server's, each with every datagram and byte.
      expect(udpRows).toEqual([
        { dir: 'EGRESS', src_ip: '127.0.0.1', dst_ip: '127.0.0.1', proc: 'node', ps: N, bs: N * 100, pr: N, br: N * 10 },
        { dir: 'INGRESS', src_ip: '127.0.0.1', dst_ip: '127.0.0.1', proc: null, ps: N, bs: N * 100, pr: N, br: N * 10 },
      ]);
      const resets = await waitFor(
        async () =>
          (
            await db.pool.query(
              `SELECT traffic_direction AS dir, close_reason FROM flows WHERE dst_port = $1 AND l4_protocol = 'TCP' AND verdict = 'FORWARDED' ORDER BY 1`,
              [rport],
            )
          ).rows,
        (rows) => rows.length >= 2,
      );
      expect(resets).toEqual([
        { dir: 'EGRESS', close_reason: 'RESET' },
        { dir: 'INGRESS', close_reason: 'RESET' },
      ]);
      const talk = async () =>
        (
          await db.pool.query(
            `SELECT flow_id, final, bytes_sent::int AS bs, bytes_received::int AS br FROM flows
          WHERE dst_port = $1 AND traffic_direction = 'EGRESS' AND l4_protocol = 'TCP' ORDER BY time, final, bytes_sent`,
            [eport],
          )
        ).rows;
      const rows = await waitFor(talk, (r) => r.some((x) => x.final));
      const interim = rows.filter((r) => !r.final);
      const last = rows.find((r) => r.final);
      // One connection: interim reports (about one a second) then the final one, all under one flow id,
      // each carrying the counts so far.
      expect(new Set(rows.map((r) => r.flow_id)).size).toBe(1);
      expect(interim.length).toBeGreaterThanOrEqual(2);
      expect(interim.length).toBeLessThanOrEqual(4);
      const sent = interim.map((r) => r.bs);
      expect([...sent].sort((a, b) => a - b)).toEqual(sent);
      expect(sent[0]).toBeGreaterThan(0);
      expect(last?.bs).toBeGreaterThanOrEqual(3000); // ~35 writes of 100 bytes, plus the SYN and FIN
      expect(last?.bs).toBeGreaterThan(sent[sent.length - 1] ?? Infinity);
    } finally {
      for (const child of children) child.kill();
      await collector.stop();
    }
  });

  it('exits non-zero with a clear reason when not privileged', async () => {
    const cli = path.resolve(__dirname, '..', 'bin', 'sextant-collector.mjs');
    const res = await run(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, cli, '--server', api.url, '--token', token],
      {
        env: { ...process.env, SEXTANT_SPOOL_DIR: path.join(tmp, 'spool-nobody') },
      },
    ).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(res?.code).toBe(1);
    expect(res?.stderr).toContain('eBPF is not available on this host: not privileged');
  });

  it('rejects bad flags with usage and exit code 2', async () => {
    const cli = path.resolve(__dirname, '..', 'bin', 'sextant-collector.mjs');
    const res = await run(process.execPath, [cli, '--server', 'not a url', '--token', 'x']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(res?.code).toBe(2);
    expect(res?.stderr).toContain('server');
    expect(res?.stderr).toContain('token');
    expect(res?.stderr).toContain('usage: sextant-collector');
    const ring = await run(process.execPath, [cli, '--server', api.url, '--token', token], {
      env: { ...process.env, SEXTANT_TCP_RING_MB: '3' },
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(ring?.code).toBe(2);
    expect(ring?.stderr).toContain('tcpRingMb: must be a power of two, 1..256');
  });
});
