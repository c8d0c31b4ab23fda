/**
 * HTTP/2 (h2c) and gRPC on the real kernel, end to end: a node http2 client with many streams in flight on one
 * connection against a node http2 server, and a @grpc/grpc-js client against a grpc-js server (unary and
 * server streaming, OK and error statuses), observed by the collector's syscall capture (HTTP/2 sockets take
 * the full path from the client preface on), decoded by the L7 engine, stored in PostgreSQL, and compared
 * with what the clients themselves saw. A header block larger than the capture is marked not decodable.
 */
import { describe, expect, it } from 'vitest';
import { firstLine, kernelRig, output, settle } from './testing/kernel-rig';
import { expectedStatus, GRPC_CLIENT, GRPC_SERVER, H2_SERVER } from './testing/tls-peers';
import { GRPC_CODES, GRPC_PLAN } from './testing/tls-workloads';

const rig = kernelRig('h2-kernel-test');
/** The h2 server's /slow delay (ms). */
const SLOW_MS = 300;
/** The collector's settings here: header blocks of up to 4 kB are captured whole. */
const l7CaptureBytes = 4096;

/**
 * One session; the requests of argv[2] (JSON [method, path, body?]) all started at once, or with argv[3] =
 * "staggered" one after another, each waiting for the previous one's response headers unless that one is
 * /slow (so slow streams stay in flight while the others come and go, and each request is its own write);
 * prints the statuses in plan order.
 */
const H2_CLIENT = `
const http2 = require('http2');
const plan = JSON.parse(process.argv[2]);
const staggered = process.argv[3] === 'staggered';
const session = http2.connect('http://127.0.0.1:' + process.argv[1]);
const one = ([m, p, body]) => {
  const r = session.request({ ':method': m, ':path': p, 'user-agent': 'h2-kernel-test' }, { endStream: !body });
  let code = 0;
  const headers = new Promise((res) => r.on('response', (h) => res((code = h[':status']))));
  r.resume();
  const closed = new Promise((res) => r.on('close', () => res(code)));
  if (body) r.end(body);
  return { headers, closed };
};
(async () => {
  const pending = [];
  for (const x of plan) {
    const s = one(x);
    pending.push(s.closed);
    if (staggered && x[1] !== '/slow') await s.headers;
  }
  console.log(JSON.stringify(await Promise.all(pending)));
  session.close();
})();`;

describe.skipIf(rig.skip)('HTTP/2 and gRPC capture on the real kernel', () => {
  const plan: [string, string, string?][] = [];
  for (let i = 0; i < 30; i++) {
    const kind = i % 6;
    if (kind === 0) plan.push(['GET', '/slow']);
    else if (kind === 1) plan.push(['POST', '/items', `{"n":${i}}`]);
    else if (kind === 2) plan.push(['GET', '/missing']);
    else if (kind === 3) plan.push(['DELETE', '/fail']);
    else plan.push(['GET', `/users/${i}`]);
  }

  /** Runs the plan through one client connection under the collector; returns the stored records by stream. */
  async function h2Records(staggered: boolean) {
    const server = rig.node(H2_SERVER, [String(SLOW_MS)]);
    const port = Number(await firstLine(server));
    const collector = await rig.startCollector({ rules: [{ service: 'h2-api', namespace: 'shop', match: { port } }], l7CaptureBytes });
    const args = [String(port), JSON.stringify(plan), ...(staggered ? ['staggered'] : [])];
    const codes = JSON.parse(await output(rig.node(H2_CLIENT, args))) as number[];
    expect(codes).toEqual(plan.map(([m, p]) => expectedStatus(m, p)));
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'http'`, [port], plan.length);
    await settle(); // nothing more may arrive
    await collector.stop();
    server.kill();
    return rig.rows(`SELECT * FROM l7_events WHERE dst_port = $1 ORDER BY (detail->>'streamId')::int`, [port]);
  }

  it('node http2, 30 streams one after another while the slow ones stay in flight → 30 exact records', async () => {
    const all = await h2Records(true);
    expect(all).toHaveLength(plan.length);
    all.forEach((e, i) => {
      const [m, p] = plan[i]!;
      expect([e.detail.streamId, e.http_method, e.http_path, e.http_code, e.detail.protocol]).toEqual([
        2 * i + 1,
        m,
        p,
        expectedStatus(m, p),
        'HTTP/2',
      ]);
      expect(e.detail.notDecodable).toBeUndefined();
      expect(e.dst_service).toBe('h2-api');
      expect(e.src_process).toBe('node');
      expect(e.detail.headers).toContainEqual({ key: 'user-agent', value: 'h2-kernel-test' });
      expect(Number(e.latency_ns)).toBeGreaterThan(0);
      if (p === '/slow') expect(Number(e.latency_ns)).toBeGreaterThanOrEqual((SLOW_MS - 1) * 1e6); // the server's timer
    });
    expect(all.filter((e) => e.status_class === '5xx')).toHaveLength(5);
    expect(new Set(all.map((e) => e.flow_id)).size).toBe(1); // one connection, joined to its flow
    expect(await rig.count(`SELECT count(*) AS n FROM flows WHERE flow_id = $1`, [all[0].flow_id])).toBeGreaterThan(0);
  });

  it('node http2, 30 streams started at once (one writev of ~32 iovecs, all walked in the kernel) → 30 exact records', async () => {
    const all = await h2Records(false);
    expect(all).toHaveLength(plan.length);
    all.forEach((e, i) => {
      const [m, p] = plan[i]!;
      expect([e.detail.streamId, e.http_method, e.http_path, e.http_code, e.detail.notDecodable]).toEqual([
        2 * i + 1,
        m,
        p,
        expectedStatus(m, p),
        undefined,
      ]);
    });
    expect(all.filter((e) => e.status_class === '5xx')).toHaveLength(5);
  });

  it('a request header block larger than the capture: that stream not decodable, later ones table-lost, statuses still read', async () => {
    const server = rig.node(H2_SERVER, [String(SLOW_MS)]);
    const port = Number(await firstLine(server));
    const collector = await rig.startCollector({ rules: [], l7CaptureBytes });
    // One connection, requests one after another (each waits for the previous response).
    const seq = `
const http2 = require('http2');
const session = http2.connect('http://127.0.0.1:' + process.argv[1]);
const one = (p, big) => new Promise((res) => {
  const h = { ':path': p };
  if (big) h['x-big'] = 'b'.repeat(big);
  const r = session.request(h);
  let code = 0;
  r.on('response', (x) => (code = x[':status']));
  r.resume();
  r.on('close', () => res(code));
});
(async () => { const c = [await one('/users/1'), await one('/items', 6000), await one('/missing')]; console.log(JSON.stringify(c)); session.close(); })();`;
    expect(JSON.parse(await output(rig.node(seq, [String(port)])))).toEqual([200, 200, 404]);
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [port], 3);
    await settle();
    await collector.stop();
    server.kill();
    const got = await rig.rows(
      `SELECT detail->>'streamId' AS s, http_method AS m, http_path AS p, http_code AS c, detail->>'notDecodable' AS nd FROM l7_events WHERE dst_port = $1 ORDER BY 1`,
      [port],
    );
    expect(got).toEqual([
      { s: '1', m: 'GET', p: '/users/1', c: 200, nd: null },
      { s: '3', m: '', p: '', c: 200, nd: 'truncated' },
      { s: '5', m: '', p: '', c: 404, nd: 'table-lost' },
    ]);
  });

  it('@grpc/grpc-js unary and server streaming, OK and errors → exact method, path and grpc-status per call', async () => {
    const server = rig.node(GRPC_SERVER);
    const port = Number(await firstLine(server));
    const collector = await rig.startCollector({ rules: [{ service: 'store', match: { port } }], l7CaptureBytes });
    const seen = JSON.parse(await output(rig.node(GRPC_CLIENT, [String(port), JSON.stringify(GRPC_PLAN)]))) as [string, string, number][];
    expect(seen.map((s) => s[2])).toEqual(GRPC_CODES);
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [port], GRPC_PLAN.length);
    await settle();
    await collector.stop();
    server.kill();
    const got = await rig.rows(
      `SELECT (detail->>'streamId')::int AS s, http_method AS m, http_path AS p, http_code AS c, detail->'grpc'->>'service' AS svc,
              detail->'grpc'->>'method' AS gm, (detail->'grpc'->>'status')::int AS gs, status_class AS sc, dst_service AS dst
       FROM l7_events WHERE dst_port = $1 ORDER BY 1`,
      [port],
    );
    const cls = (code: number) => (code === 0 ? '2xx' : code === 5 ? '4xx' : '5xx');
    expect(got).toEqual(
      seen.map(([m, , code], i) => ({
        s: 2 * i + 1,
        m: 'POST',
        p: `/test.Store/${m}`,
        c: 200,
        svc: 'test.Store',
        gm: m,
        gs: code,
        sc: cls(code),
        dst: 'store',
      })),
    );
  });
});
