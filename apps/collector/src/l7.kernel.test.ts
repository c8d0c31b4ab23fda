/**
 * L7 on the real kernel, end to end: real clients and servers (curl, a raw-socket client with pipelining, node
 * http, nginx, dig against dnsmasq) observed by the collector's syscall capture, parsed and paired by the L7
 * engine, shipped over tRPC into PostgreSQL, and compared with what the test did.
 */
import fs from 'node:fs';
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import { KafkaTestBroker } from './l7/testing/kafka-broker';
import { firstLine, has, kernelRig, output, run, settle } from './testing/kernel-rig';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('l7-kernel-test');

/** HTTP server with known statuses and delays, and a chunked response. */
const HTTP_SERVER = `
const http = require('http');
const s = http.createServer((q, r) => {
  let body = 0;
  q.on('data', (c) => (body += c.length));
  q.on('end', () => {
    if (q.url === '/fail') { r.writeHead(503); return r.end('unavailable'); }
    if (q.url === '/missing') { r.writeHead(404); return r.end('no'); }
    if (q.url === '/slow') return setTimeout(() => { r.writeHead(200, { 'content-length': 4 }); r.end('slow'); }, 100);
    if (q.method === 'POST') { r.writeHead(201, { 'content-length': String(String(body).length) }); return r.end(String(body)); }
    if (q.url === '/chunked') { r.writeHead(200); r.write('a'.repeat(3000)); return r.end('tail'); }
    r.writeHead(200, { 'content-length': 4 }); r.end('body');
  });
});
s.keepAliveTimeout = 30000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

/**
 * Raw-socket client: one connection with 5 pipelined requests in a single write; one connection with 3
 * sequential /slow requests timed from write to first response byte; one connection with a 3000-byte POST
 * (larger than the capture) followed by a GET. Prints the measured latencies (ns) as JSON.
 */
const RAW_CLIENT = `
const net = require('net');
const port = Number(process.argv[1]);
const req = (m, p, body = '') => m + ' ' + p + ' HTTP/1.1\\r\\nHost: shop.test\\r\\n' + (body ? 'Content-Length: ' + body.length + '\\r\\n' : '') + '\\r\\n' + body;
function conn() { return new Promise((res) => { const s = net.connect(port, '127.0.0.1', () => res(s)); }); }
function until(s, n) { return new Promise((res) => { let buf = ''; const on = (d) => { buf += d.toString('latin1'); if ((buf.match(/HTTP\\/1\\.1 \\d{3}/g) || []).length >= n && /\\r\\n\\r\\n[\\s\\S]*$/.test(buf)) { s.off('data', on); setTimeout(() => res(buf), 50); } }; s.on('data', on); }); }
(async () => {
  const a = await conn();
  a.write(req('GET', '/ok') + req('GET', '/fail') + req('GET', '/ok') + req('GET', '/fail') + req('GET', '/ok'));
  await until(a, 5); a.end();
  const b = await conn(); const lat = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const first = new Promise((res) => b.once('data', () => res(process.hrtime.bigint())));
    const done = until(b, 1);
    b.write(req('GET', '/slow'));
    lat.push(Number((await first) - t0)); await done;
  }
  b.end();
  const c = await conn();
  c.write(req('POST', '/items', 'x'.repeat(3000)));
  await until(c, 1);
  c.write(req('GET', '/ok'));
  await until(c, 1); c.end();
  console.log(JSON.stringify(lat));
})();`;

/** Raw-socket client: the paths in argv, pipelined in one write on one connection; exits after all responses. */
const PIPELINE_CLIENT = `
const net = require('net');
const [port, ...paths] = process.argv.slice(1);
const s = net.connect(Number(port), '127.0.0.1', () => s.write(paths.map((p) => 'GET ' + p + ' HTTP/1.1\\r\\nHost: shop.test\\r\\n\\r\\n').join('')));
let buf = '';
s.on('data', (d) => { buf += d.toString('latin1'); if ((buf.match(/HTTP\\/1\\.1 \\d{3}/g) || []).length >= paths.length) setTimeout(() => s.end(), 50); });
s.on('close', () => console.log('done'));`;

describe.skipIf(rig.skip)('L7 capture on the real kernel', () => {
  it('pairs HTTP/1.1 exchanges of curl, pipelined and sequential raw clients with a node server: exact counts, statuses, latency', async () => {
    const server = rig.node(HTTP_SERVER);
    const port = Number(await firstLine(server));
    const collector = await rig.startCollector({ rules: [{ service: 'web-api', namespace: 'shop', match: { port } }] });
    // curl reuses one connection for the three URLs.
    await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      `http://127.0.0.1:${port}/ok`,
      `http://127.0.0.1:${port}/fail`,
      `http://127.0.0.1:${port}/missing`,
    ]);
    const measured = JSON.parse(await output(rig.node(RAW_CLIENT, [String(port)]))) as number[];
    const expected = 13;
    const q = `SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'http' AND type = 'RESPONSE'`;
    await rig.waitCount(q, [port], expected);
    await settle(); // nothing more may arrive
    await collector.stop();

    const byKey = await rig.rows(
      `SELECT http_method AS m, http_path AS p, http_code AS c, count(*)::int AS n FROM l7_events WHERE dst_port = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [port],
    );
    expect(byKey).toEqual([
      { m: 'GET', p: '/fail', c: 503, n: 3 },
      { m: 'GET', p: '/missing', c: 404, n: 1 },
      { m: 'GET', p: '/ok', c: 200, n: 5 },
      { m: 'GET', p: '/slow', c: 200, n: 3 },
      { m: 'POST', p: '/items', c: 201, n: 1 },
    ]);
    const all = await rig.rows(`SELECT * FROM l7_events WHERE dst_port = $1 ORDER BY time`, [port]);
    expect(all).toHaveLength(expected);
    for (const e of all) {
      expect(e.type).toBe('RESPONSE');
      expect(e.dst_service).toBe('web-api');
      expect(e.dst_namespace).toBe('shop');
      expect(['curl', 'node']).toContain(e.src_process);
      expect(e.flow_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(all.filter((e) => e.status_class === '5xx' || e.http_code >= 500)).toHaveLength(3);
    // The POST's 3000-byte body was mostly not captured, yet the GET after it on the same connection parsed.
    const post = all.find((e) => e.http_method === 'POST');
    expect(post.detail.requestBytes).toBeGreaterThanOrEqual(3000);
    // Latency of the sequential /slow requests, bounded by causality whatever the load: at least the
    // server's 100 ms timer (libuv may fire it up to 1 ms early), at most what the client measured from
    // before its write to its first 'data' event (the kernel saw both syscalls in between).
    const slow = all.filter((e) => e.http_path === '/slow').map((e) => Number(e.latency_ns));
    expect(slow).toHaveLength(3);
    slow.forEach((ns, i) => {
      expect(ns).toBeGreaterThanOrEqual(99e6);
      expect(ns).toBeLessThanOrEqual(measured[i]!);
    });
    // Every L7 event joins its connection flow (L4 ↔ L7).
    const joined = await rig.count(
      `SELECT count(DISTINCT l.event_id) AS n FROM l7_events l JOIN flows f ON f.flow_id = l.flow_id WHERE l.dst_port = $1`,
      [port],
    );
    expect(joined).toBe(expected);
    // Kernel-side request → response histogram for the client sockets.
    const kernelHist = await rig.count(
      `SELECT coalesce(sum(samples), 0) AS n FROM latency_minute WHERE kind = 'http' AND dst_service = 'web-api'`,
    );
    expect(kernelHist).toBeGreaterThanOrEqual(9);
    server.kill();
  });

  it('sees curl against nginx: methods, paths and statuses, with nginx as the server', async (t) => {
    if (missingPrerequisite(await has('nginx'), 'nginx is not installed (bash scripts/install-system-deps.sh test)')) return t.skip();
    const { port, process: nginx } = await rig.nginx(
      'location = /a { return 200 "hello"; } location = /err { return 500 "boom"; } location / { return 404; }',
    );
    const collector = await rig.startCollector({ rules: [] });
    const plan = [
      ['/a', 4],
      ['/err', 2],
      ['/nothing', 3],
    ] as const;
    for (const [p, n] of plan) for (let i = 0; i < n; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}${p}`]);
    await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-X',
      'DELETE',
      `http://127.0.0.1:${port}/a?token=s3cret&x=1`,
      '-H',
      'Authorization: Bearer abc',
    ]);
    // Five requests pipelined in one write on one connection, answered in order by nginx.
    await output(rig.node(PIPELINE_CLIENT, [String(port), '/a', '/err', '/a', '/nothing', '/a']));
    const q = `SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`;
    await rig.waitCount(q, [port], 15);
    await settle();
    await collector.stop();
    nginx.kill('SIGQUIT');
    const got = await rig.rows(
      `SELECT http_method AS m, http_path AS p, http_code AS c, count(*)::int AS n FROM l7_events WHERE dst_port = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [port],
    );
    expect(got).toEqual([
      { m: 'DELETE', p: '/a', c: 200, n: 1 },
      { m: 'GET', p: '/a', c: 200, n: 7 },
      { m: 'GET', p: '/err', c: 500, n: 3 },
      { m: 'GET', p: '/nothing', c: 404, n: 4 },
    ]);
    const del = (await rig.rows(`SELECT * FROM l7_events WHERE dst_port = $1 AND http_method = 'DELETE'`, [port]))[0];
    // Secrets never leave the host: the token query parameter and the Authorization header are redacted.
    expect(JSON.stringify(del.detail)).not.toContain('s3cret');
    expect(JSON.stringify(del.detail)).not.toContain('abc');
    expect(del.detail.url).toContain('x=1');
    const servers = await rig.rows(`SELECT DISTINCT src_process, dst_process, dst_service FROM l7_events WHERE dst_port = $1 ORDER BY 1`, [
      port,
    ]);
    expect(servers).toEqual([
      { src_process: 'curl', dst_process: 'nginx', dst_service: 'nginx' },
      { src_process: 'node', dst_process: 'nginx', dst_service: 'nginx' },
    ]);
  });

  it('sees dig against dnsmasq: A, AAAA, NXDOMAIN and TCP, with answers feeding names', async (t) => {
    if (
      missingPrerequisite(
        (await has('dnsmasq')) && (await has('dig')),
        'dnsmasq or dig is not installed (bash scripts/install-system-deps.sh test)',
      )
    )
      return t.skip();
    const port = 15000 + Math.floor(Math.random() * 1000);
    const conf = rig.file('dnsmasq') + '.conf';
    fs.writeFileSync(
      conf,
      `port=${port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\nlocal-ttl=120\n` +
        `address=/svc.test/10.1.2.3\naddress=/svc.test/fd00::3\naddress=/gone.test/\n`,
    );
    const dnsmasq = rig.spawn('dnsmasq', ['--no-daemon', `--conf-file=${conf}`], { stdio: 'ignore' });
    await waitFor(
      async () =>
        run('dig', ['@127.0.0.1', '-p', String(port), 'api.svc.test', '+short', '+tries=1', '+time=1']).then(
          (r) => r.stdout.trim(),
          () => '',
        ),
      (s) => s === '10.1.2.3',
      10_000,
    );
    const collector = await rig.startCollector({ rules: [] });
    const dig = (...a: string[]) => run('dig', ['@127.0.0.1', '-p', String(port), ...a, '+tries=1', '+time=2']);
    await dig('api.svc.test', 'A');
    await dig('api.svc.test', 'AAAA');
    await dig('x.gone.test', 'A');
    await dig('db.svc.test', 'A', '+tcp');
    const q = `SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'dns'`;
    await rig.waitCount(q, [port], 4);
    await settle();
    await collector.stop();
    dnsmasq.kill();
    const got = await rig.rows(
      `SELECT dns_query, dns_rcode, detail, src_process FROM l7_events WHERE dst_port = $1 AND protocol = 'dns' ORDER BY time`,
      [port],
    );
    expect(got.map((g) => [g.dns_query, g.detail.qtypes, g.dns_rcode, g.detail.ips, g.detail.transport, g.src_process])).toEqual([
      ['api.svc.test', ['A'], 0, ['10.1.2.3'], 'udp', 'dig'],
      ['api.svc.test', ['AAAA'], 0, ['fd00::3'], 'udp', 'dig'],
      ['x.gone.test', ['A'], 3, [], 'udp', 'dig'],
      ['db.svc.test', ['A'], 0, ['10.1.2.3'], 'tcp', 'dig'],
    ]);
    expect(got[0].detail.ttl).toBe(120);
  });

  it('sees kcat (librdkafka) against the Kafka-protocol test broker: api keys, versions, correlation ids, topics, error codes', async (t) => {
    if (missingPrerequisite(await has('kcat'), 'kcat is not installed (bash scripts/install-system-deps.sh test)')) return t.skip();
    // The fixture broker runs in this (the collector's own, unobserved) process; kcat is observed as the client.
    const broker = new KafkaTestBroker({ topics: { orders: 1 } });
    const port = await broker.start();
    const collector = await rig.startCollector({ rules: [{ service: 'kafka', namespace: 'data', match: { port } }] });
    const kcat = async (args: string[], input = '') => {
      const p = run('kcat', ['-b', `127.0.0.1:${port}`, '-d', 'protocol', ...args], { timeout: 30_000 });
      p.child.stdin!.end(input);
      const { stderr } = await p.catch((e: { stderr: string }) => e);
      return [...stderr.matchAll(/Sent (\w+)Request \(v(\d+), \d+ bytes @ 0, CorrId (\d+)\)/g)].map((m) => ({
        name: m[1]!,
        version: Number(m[2]),
        correlationId: Number(m[3]),
      }));
    };
    const truth = [...(await kcat(['-P', '-t', 'orders'], 'one\ntwo\nthree\n')), ...(await kcat(['-L', '-t', 'nope']))];
    const alias: Record<string, string> = { ApiVersion: 'ApiVersions', Offset: 'ListOffsets' };
    const expected = truth.map((t) => `${alias[t.name] ?? t.name} v${t.version} #${t.correlationId}`).toSorted();
    expect(expected.some((e) => e.startsWith('Produce'))).toBe(true);
    const q = `SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'kafka'`;
    await rig.waitCount(q, [port], truth.length, 30_000);
    await settle();
    await collector.stop();
    await broker.stop();
    const got = await rig.rows(
      `SELECT kafka_api_key, kafka_topic, kafka_error_code, detail, src_process, dst_service FROM l7_events WHERE dst_port = $1 AND protocol = 'kafka'`,
      [port],
    );
    expect(got.map((g) => `${g.kafka_api_key} v${g.detail.apiVersion} #${g.detail.correlationId}`).toSorted()).toEqual(expected);
    for (const g of got) expect([g.src_process, g.dst_service, g.detail.clientId]).toEqual(['kcat', 'kafka', 'rdkafka']);
    const produce = got.filter((g) => g.kafka_api_key === 'Produce');
    expect(produce.length).toBeGreaterThan(0);
    for (const p of produce) expect([p.kafka_topic, p.kafka_error_code]).toEqual(['orders', 0]);
    const missing = got.filter((g) => g.kafka_api_key === 'Metadata' && g.kafka_topic === 'nope');
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((m) => m.kafka_error_code === 3)).toBe(true);
  });
});
