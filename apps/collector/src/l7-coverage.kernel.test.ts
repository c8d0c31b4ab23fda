/**
 * L7 decode coverage per workload on the real kernel, end to end (collector → API → PostgreSQL), in signals mode
 * (the default, where most exchanges leave no record): real peers of known protocols, each connection opened and
 * closed by the peer, and the coverage rollup per workload compared exactly with what the peers did — cleartext
 * HTTP/1.x (new connection per request), HTTP/2 with prior knowledge, HTTP/2 with a header block past the capture
 * (not decodable), and a protocol nothing recognizes. Each connection's class comes from the kernel's
 * classification in its close event (l7Proto / l7Tls), so this file needs a BPF object that reports it.
 */
import { workloadCoverage } from '@sextant/db';
import { SX_TCP_EVENT_LAYOUT } from '@sextant/bpf';
import { describe, expect, it } from 'vitest';
import { firstLine, kernelRig, output, settle } from './testing/kernel-rig';

const rig = kernelRig('coverage-kernel-test');
/** The kernel reports each socket's classification at close (sx_tcp_event.l7_proto): until then, skipped and said. */
const kernelReports = 'l7_proto' in SX_TCP_EVENT_LAYOUT;
if (!kernelReports)
  console.warn('[l7-coverage.kernel.test] skipped: sx_tcp_event has no l7_proto yet (the kernel does not report coverage)');

const HTTP_SERVER = `
const s = require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('ok')); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
/** argv[2] requests, each on a connection of its own (no agent), one after another. */
const HTTP_CLIENT = `
const http = require('http');
(async () => {
  for (let i = 0; i < Number(process.argv[2]); i++)
    await new Promise((res, rej) => http.get({ host: '127.0.0.1', port: process.argv[1], path: '/c/' + i, agent: false }, (r) => { r.resume(); r.on('end', res); }).on('error', rej));
  console.log('done');
})();`;

const H2_SERVER = `
const s = require('http2').createServer();
s.on('stream', (st) => { st.on('error', () => {}); st.resume(); st.on('end', () => { st.respond({ ':status': 200 }); st.end('ok'); }); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
/**
 * argv[2] sessions one after another, one request each (argv[3] bytes of an extra header: past the capture, the
 * block is not decodable), each closed right after its answer: its records and its close race through the two rings
 * (the collector holds an HTTP/2 connection's row until its records are parsed).
 */
const H2_CLIENT = `
const http2 = require('http2');
(async () => {
  for (let i = 0; i < Number(process.argv[2]); i++) {
    const session = http2.connect('http://127.0.0.1:' + process.argv[1]);
    const extra = Number(process.argv[3] || 0) ? { 'x-big': 'b'.repeat(Number(process.argv[3])) } : {};
    await new Promise((res) => { const r = session.request({ ':path': '/h2/' + i, ...extra }); r.resume(); r.on('close', res); });
    await new Promise((res) => session.close(res));
  }
  console.log('done');
})();`;

/**
 * One long-lived session: a first request, then 'ready'; on a line on stdin, argv[2] more requests one after
 * another, then the session closes and 'done'. Between 'ready' and stdin nothing moves on the connection.
 */
const H2_LONG_CLIENT = `
const http2 = require('http2');
const session = http2.connect('http://127.0.0.1:' + process.argv[1]);
const get = (p) => new Promise((res) => { const r = session.request({ ':path': p }); r.resume(); r.on('close', res); });
get('/before').then(() => console.log('ready'));
process.stdin.once('data', async () => {
  for (let i = 0; i < Number(process.argv[2]); i++) await get('/after/' + i);
  session.close(() => { console.log('done'); process.exit(0); });
});`;

/** Echoes what it reads, connection kept open. */
const RAW_ECHO_SERVER = `
const s = require('net').createServer((c) => c.on('data', (d) => c.write(d)));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
/**
 * A long-lived connection of a binary protocol whose message looks like an HTTP/2 frame (a WINDOW_UPDATE) followed by
 * 3 more bytes: one exchange, then 'ready'; on a line on stdin one more exchange, then the close and 'done'.
 */
const RAW_NEAR_H2_CLIENT = `
const msg = Buffer.from('000004080000000000' + '0000ffff' + '616263', 'hex');
const c = require('net').connect(Number(process.argv[1]), '127.0.0.1', () => c.write(msg));
let n = 0;
c.on('data', () => (++n === 1 ? console.log('ready') : c.end()));
process.stdin.once('data', () => c.write(msg));
c.on('close', () => { console.log('done'); process.exit(0); });`;

const RAW_SERVER = `
const s = require('net').createServer((c) => c.on('data', () => c.end('olleh, raw protocol\\n')));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const RAW_CLIENT = `
const net = require('net');
(async () => {
  for (let i = 0; i < Number(process.argv[2]); i++)
    await new Promise((res, rej) => { const c = net.connect(Number(process.argv[1]), '127.0.0.1', () => c.write('hello, raw protocol\\n')); c.resume(); c.on('close', res); c.on('error', rej); });
  console.log('done');
})();`;

/** A collector in signals mode that names the service on each port cov-<name>. */
const startCoverageCollector = (ports: Record<string, number>) =>
  rig.startCollector({
    l7Mode: 'signals',
    l7CaptureBytes: 1024,
    rules: Object.entries(ports).map(([name, port]) => ({ service: `cov-${name}`, match: { port } })),
  });

/** The coverage rollup since `since`: per workload cov-<name>, its connections per class (classes with none left out). */
async function coverageSince(since: number): Promise<(name: string) => Record<string, number>> {
  const r = await workloadCoverage(rig.db.pool, { since, until: Date.now() + 60_000 });
  return (name) => {
    const w = r.workloads.find((x) => x.service === `cov-${name}`);
    return w ? Object.fromEntries(Object.entries(w.connections).filter(([, n]) => n > 0)) : {};
  };
}

/** The final flow rows towards the services cov-<name> of `ports`: service, direction, class, how many. */
const finalRows = (ports: Record<string, number>) =>
  rig.rows(
    `SELECT dst_service AS s, traffic_direction AS d, l7_coverage AS c, count(*)::int AS n FROM flows
      WHERE final AND dst_service = ANY($1) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [Object.keys(ports).map((name) => `cov-${name}`)],
  );

describe.skipIf(rig.skip || !kernelReports)('L7 decode coverage per workload (signals mode)', () => {
  it('classifies each connection of real peers exactly: cleartext, HTTP/2, HTTP/2 not decodable, not recognized', async () => {
    const since = Date.now() - 60_000;
    const ports = {
      plain: Number(await firstLine(rig.node(HTTP_SERVER))),
      h2: Number(await firstLine(rig.node(H2_SERVER))),
      h2big: Number(await firstLine(rig.node(H2_SERVER))),
      raw: Number(await firstLine(rig.node(RAW_SERVER))),
    };
    const c = await startCoverageCollector(ports);
    await output(rig.node(HTTP_CLIENT, [String(ports.plain), '3']));
    await output(rig.node(H2_CLIENT, [String(ports.h2), '2']));
    await output(rig.node(H2_CLIENT, [String(ports.h2big), '1', '6000']));
    await output(rig.node(RAW_CLIENT, [String(ports.raw), '2']));
    await rig.waitCount(`SELECT coalesce(sum(connections), 0) AS n FROM l7_coverage_minute WHERE dst_service LIKE 'cov-%'`, [], 8);
    await settle();
    await c.stop();
    const of = await coverageSince(since);
    expect(of('plain')).toEqual({ cleartext: 3 });
    expect(of('h2')).toEqual({ cleartext: 2 });
    expect(of('h2big')).toEqual({ 'http2-undecodable': 1 });
    expect(of('raw')).toEqual({ unrecognized: 2 });
    // the same class on every final client row of those connections (the server rows of same-node connections carry none)
    expect(await finalRows(ports)).toEqual([
      { s: 'cov-h2', d: 'EGRESS', c: 'cleartext', n: 2 },
      { s: 'cov-h2', d: 'INGRESS', c: null, n: 2 },
      { s: 'cov-h2big', d: 'EGRESS', c: 'http2-undecodable', n: 1 },
      { s: 'cov-h2big', d: 'INGRESS', c: null, n: 1 },
      { s: 'cov-plain', d: 'EGRESS', c: 'cleartext', n: 3 },
      { s: 'cov-plain', d: 'INGRESS', c: null, n: 3 },
      { s: 'cov-raw', d: 'EGRESS', c: 'unrecognized', n: 2 },
      { s: 'cov-raw', d: 'INGRESS', c: null, n: 2 },
    ]);
  });

  it('says HTTP/2 joined mid-stream for a session older than the collector; a new session in the same run stays cleartext', async () => {
    const since = Date.now() - 60_000;
    const ports = {
      h2old: Number(await firstLine(rig.node(H2_SERVER))),
      h2new: Number(await firstLine(rig.node(H2_SERVER))),
      rawold: Number(await firstLine(rig.node(RAW_ECHO_SERVER))),
    };
    // the session starts (preface, settings, a first request) before the collector's probes are loaded; so does a
    // connection of another binary protocol, whose messages are not whole HTTP/2 frames
    const old = rig.spawn(process.execPath, ['-e', H2_LONG_CLIENT, String(ports.h2old), '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const raw = rig.spawn(process.execPath, ['-e', RAW_NEAR_H2_CLIENT, String(ports.rawold)], { stdio: ['pipe', 'pipe', 'inherit'] });
    expect(await Promise.all([firstLine(old), firstLine(raw)])).toEqual(['ready', 'ready']);
    const c = await startCoverageCollector(ports);
    const done = [output(old), output(raw)];
    old.stdin!.write('go\n');
    raw.stdin!.write('go\n');
    expect((await Promise.all(done)).map((o) => o.trim())).toEqual(['done', 'done']);
    await output(rig.node(H2_CLIENT, [String(ports.h2new), '1']));
    const q = `SELECT coalesce(sum(connections), 0) AS n FROM l7_coverage_minute WHERE dst_service IN ('cov-h2old', 'cov-h2new')`;
    await rig.waitCount(q, [], 2);
    await settle();
    await c.stop();
    const of = await coverageSince(since);
    expect(of('h2old')).toEqual({ 'http2-midstream': 1 });
    expect(of('h2new')).toEqual({ cleartext: 1 });
    // both ends of the old session are tracked from their first frames on: one final row each, the class on the client's;
    // the old connection of the other protocol stays untracked, as every connection older than the collector
    expect(await finalRows(ports)).toEqual([
      { s: 'cov-h2new', d: 'EGRESS', c: 'cleartext', n: 1 },
      { s: 'cov-h2new', d: 'INGRESS', c: null, n: 1 },
      { s: 'cov-h2old', d: 'EGRESS', c: 'http2-midstream', n: 1 },
      { s: 'cov-h2old', d: 'INGRESS', c: null, n: 1 },
    ]);
    // no L7 record from the old session (its header blocks cannot be decoded, nothing is guessed)
    expect(await rig.count(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [ports.h2old])).toBe(0);
  });
});
