/**
 * The L7 signals mode on the real kernel (docs/l7-line-rate.md): a node http server and client on loopback send
 * a known mix of exchanges; the kernel aggregates must equal the mix exactly per (method, status), and records
 * must come exactly for the exchanges the rules keep (or for sockets on the full path, kept 0).
 */
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { missingPrerequisite } from '@sextant/shared/testing';
import {
  SX_DIR_CLIENT,
  SX_KEPT_CAPTURE,
  SX_KEPT_ERROR,
  SX_KEPT_NONE,
  SX_KEPT_SAMPLED,
  SX_KEPT_SLOW,
  SX_L7_EGRESS,
  SX_L7_INGRESS,
  SX_PROTO_HTTP,
  SX_PROTO_HTTP2,
} from './generated/events';
import { preflight } from './preflight';
import { monotonicNsFromEpochMs, SextantProbes, type L7AggregateRecord, type L7Mode } from './probes';

const pf = preflight();
const noKernel = missingPrerequisite(pf.ok, `eBPF kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);

const SLOW_NS = 800_000_000;
const SLOW_DELAY_MS = 900;
const BIG_BODY = 'x'.repeat(300_000);
const comm = fs.readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim();

interface Rec {
  kept: number;
  direction: number;
  role: number;
  protocol: number;
  sport: number;
  dport: number;
  sockIno: bigint;
  totalLen: number;
  xseq: number;
  text: string;
}

let probes: SextantProbes | undefined;
let records: Rec[] = [];
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  probes?.close();
  probes = undefined;
});

async function start(l7Mode: L7Mode, budgetPerSec: number, opts: { captureLoopbackServers?: boolean; recordAllUntilNs?: bigint } = {}) {
  records = [];
  probes = SextantProbes.open({ l7Mode, cgroupRoot: null, updateIntervalMs: 0, captureLoopbackServers: opts.captureLoopbackServers });
  probes.setL7Config({ slowNs: SLOW_NS, recordAllUntilNs: opts.recordAllUntilNs ?? 0n, budgetPerSec });
  probes.onL7Events((batch) => {
    for (const r of batch) {
      const h = r.header();
      records.push({ ...h, kept: r.kept, text: r.data().toString('latin1') });
    }
  });
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const kind = req.url?.split('/')[1];
      if (kind === 'fail') {
        res.statusCode = 503;
        res.end('unavailable');
      } else if (kind === 'slow') setTimeout(() => res.end('late'), SLOW_DELAY_MS);
      else if (kind === 'hang') req.socket.destroy();
      else if (kind === 'big') {
        res.statusCode = Number(req.url?.split('/')[2]);
        res.end(BIG_BODY);
      } else res.end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  cleanups.push(() => {
    agent.destroy();
    srv.closeAllConnections();
    srv.close();
  });
  return { port, agent };
}

function request(port: number, agent: http.Agent, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** N GET /ok, M POST /fail (503), K GET /slow (200 after the slow threshold). */
async function mix(port: number, agent: http.Agent, n: number, m: number, k: number): Promise<void> {
  const slow = Array.from({ length: k }, (_, i) => request(port, agent, 'GET', `/slow/${i}`));
  for (let i = 0; i < n; i++) expect(await request(port, agent, 'GET', `/ok/${i}`)).toBe(200);
  for (let i = 0; i < m; i++) expect(await request(port, agent, 'POST', `/fail/${i}`, 'payload')).toBe(503);
  expect(await Promise.all(slow)).toEqual(Array(k).fill(200));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settle(pred: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !pred()) await sleep(50);
  await sleep(300); // and let stragglers arrive
}

/** Both generations drained: everything aggregated so far. */
async function drainAll(): Promise<L7AggregateRecord[]> {
  return [...(await probes!.drainL7Aggregates()), ...(await probes!.drainL7Aggregates())];
}

const forPort = (aggs: L7AggregateRecord[], port: number, role: 'client' | 'server' = 'client') =>
  aggs.filter((a) => a.role === role && (role === 'client' ? a.rport : a.lport) === port);

/** Everything aggregated so far for one server port and role. */
async function aggregates(port: number, role: 'client' | 'server' = 'client'): Promise<L7AggregateRecord[]> {
  return forPort(await drainAll(), port, role);
}

/** count per "METHOD status", summed over keys. */
function counts(aggs: L7AggregateRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of aggs) out[`${a.method} ${a.status}`] = (out[`${a.method} ${a.status}`] ?? 0) + a.count;
  return out;
}

const clientRecords = (port: number) => records.filter((r) => r.role === SX_DIR_CLIENT && r.dport === port);
const requestLine = (r: Rec) => r.text.split('\r\n')[0];

describe.skipIf(noKernel)('L7 signals mode', () => {
  it('aggregates the mix exactly per (method, status) and records only the 5xx and slow exchanges (budget 0)', async () => {
    const { port, agent } = await start('signals', 0);
    const N = 20;
    const M = 5;
    const K = 3;
    await mix(port, agent, N, M, K);
    await settle(() => clientRecords(port).length >= 2 * (M + K));
    const aggs = await aggregates(port);
    expect(counts(aggs)).toEqual({ 'GET 200': N + K, 'POST 503': M });
    for (const a of aggs) {
      expect(a).toMatchObject({ pid: process.pid, comm, family: 4, laddr: '127.0.0.1', raddr: '127.0.0.1', lport: 0, rport: port });
      expect(a.cnt.reduce((s, c) => s + c, 0)).toBe(a.count);
      expect(a.lastNs >= a.firstNs).toBe(true);
    }
    // the slow ones waited at least SLOW_DELAY_MS: K samples at or above the threshold's bucket
    const get = aggs.find((a) => a.method === 'GET')!;
    expect(get.latencySumNs >= BigInt(K) * BigInt(SLOW_DELAY_MS) * 1_000_000n).toBe(true);

    const recs = clientRecords(port);
    const requests = recs.filter((r) => r.direction === SX_L7_EGRESS);
    const responses = recs.filter((r) => r.direction === SX_L7_INGRESS);
    expect(requests.map(requestLine).sort()).toEqual(
      [
        ...Array.from({ length: M }, (_, i) => `POST /fail/${i} HTTP/1.1`),
        ...Array.from({ length: K }, (_, i) => `GET /slow/${i} HTTP/1.1`),
      ].sort(),
    );
    expect(requests.filter((r) => r.text.startsWith('POST')).every((r) => r.kept === SX_KEPT_ERROR)).toBe(true);
    expect(requests.filter((r) => r.text.startsWith('GET')).every((r) => r.kept === SX_KEPT_SLOW)).toBe(true);
    expect(responses.map((r) => `${requestLine(r)} ${r.kept}`).sort()).toEqual(
      [...Array(M).fill(`HTTP/1.1 503 Service Unavailable ${SX_KEPT_ERROR}`), ...Array(K).fill(`HTTP/1.1 200 OK ${SX_KEPT_SLOW}`)].sort(),
    );
    expect(recs.every((r) => r.protocol === SX_PROTO_HTTP)).toBe(true);
    // the counters are host-wide (other HTTP traffic on this host counts too): at least this test's
    const c = probes!.readCounters();
    expect(c.l7KeptError).toBeGreaterThanOrEqual(M);
    expect(c.l7KeptSlow).toBeGreaterThanOrEqual(K);
    expect(c.l7Aggregated).toBeGreaterThanOrEqual(N + M + K);
  });

  it('records every exchange as sampled within a large budget', async () => {
    const { port, agent } = await start('signals', 1_000_000);
    const N = 15;
    await mix(port, agent, N, 0, 0);
    const methods = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
    for (const m of methods) expect(await request(port, agent, m, `/ok/${m}`)).toBe(200);
    await settle(() => clientRecords(port).length >= 2 * (N + methods.length));
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': N, ...Object.fromEntries(methods.map((m) => [`${m} 200`, 1])) });
    const recs = clientRecords(port);
    expect(
      recs
        .filter((r) => r.direction === SX_L7_EGRESS)
        .map(requestLine)
        .sort(),
    ).toEqual([...Array.from({ length: N }, (_, i) => `GET /ok/${i} HTTP/1.1`), ...methods.map((m) => `${m} /ok/${m} HTTP/1.1`)].sort());
    expect(recs.filter((r) => r.direction === SX_L7_INGRESS)).toHaveLength(N + methods.length);
    expect(recs.every((r) => r.kept === SX_KEPT_SAMPLED)).toBe(true);
    // the exchange number: per socket, request and response of one exchange share it, and it counts up from 1
    const bySocket = new Map<bigint, Rec[]>();
    for (const r of recs) bySocket.set(r.sockIno, [...(bySocket.get(r.sockIno) ?? []), r]);
    for (const list of bySocket.values())
      expect(list.map((r) => [r.direction, r.xseq])).toEqual(
        list.map((_, i) => [i % 2 === 0 ? SX_L7_EGRESS : SX_L7_INGRESS, Math.floor(i / 2) + 1]),
      );
  });

  it('records every exchange as capture while record_all_until is in the future', async () => {
    const { port, agent } = await start('signals', 0, { recordAllUntilNs: monotonicNsFromEpochMs(Date.now() + 120_000) });
    const N = 10;
    await mix(port, agent, N, 0, 0);
    await settle(() => clientRecords(port).length >= 2 * N);
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': N });
    const recs = clientRecords(port);
    expect(recs).toHaveLength(2 * N);
    expect(recs.every((r) => r.kept === SX_KEPT_CAPTURE)).toBe(true);
  });

  it('in full mode records every exchange as before (kept 0) and aggregates nothing', async () => {
    const { port, agent } = await start('full', 1_000_000);
    const N = 10;
    const M = 3;
    await mix(port, agent, N, M, 0);
    await settle(() => clientRecords(port).length >= 2 * (N + M));
    expect(await aggregates(port)).toEqual([]);
    const recs = clientRecords(port);
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS)).toHaveLength(N + M);
    expect(recs.filter((r) => r.direction === SX_L7_INGRESS)).toHaveLength(N + M);
    expect(recs.every((r) => r.kept === SX_KEPT_NONE && r.xseq === 0)).toBe(true);
    expect(probes!.readCounters().l7Aggregated).toBe(0);
  });
});

describe.skipIf(noKernel)('L7 signals mode: the full path and the edges', () => {
  it('puts a socket on the full path for a request body in a second write and for an unknown method: its exchanges are records (kept 0), never aggregated', async () => {
    const { port, agent } = await start('signals', 0);
    const N = 10;
    await mix(port, agent, N, 0, 0);
    // one connection: headers flushed, then the body while the response is awaited → FULL from then on
    const split = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => split.destroy());
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/ok/split', agent: split, headers: { 'content-length': 10 } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end('0123456789'), 50);
    });
    expect(status).toBe(200);
    expect(await request(port, split, 'GET', '/ok/after-split')).toBe(200);
    // another connection: aggregated, until a method the kernel does not know
    const odd = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => odd.destroy());
    expect(await request(port, odd, 'GET', '/ok/first')).toBe(200);
    expect(await request(port, odd, 'PURGE', '/ok/purge')).toBe(200);
    expect(await request(port, odd, 'GET', '/ok/after-purge')).toBe(200);
    await settle(() => clientRecords(port).length >= 9);

    // aggregates + full-path exchanges = every exchange sent, each once
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': N + 1 });
    const recs = clientRecords(port);
    expect(recs.every((r) => r.kept === SX_KEPT_NONE)).toBe(true);
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS).map(requestLine)).toEqual([
      'POST /ok/split HTTP/1.1',
      '0123456789',
      'GET /ok/after-split HTTP/1.1',
      'PURGE /ok/purge HTTP/1.1',
      'GET /ok/after-purge HTTP/1.1',
    ]);
    expect(recs.filter((r) => r.direction === SX_L7_INGRESS).map(requestLine)).toEqual(Array(4).fill('HTTP/1.1 200 OK'));
    expect(probes!.readCounters().l7FullSwitches).toBeGreaterThanOrEqual(2); // host-wide
  });

  it('puts a socket on the full path for requests pipelined inside one write (a second request line after the header block), not for a body', async () => {
    const { port } = await start('signals', 0);
    const sockets: net.Socket[] = [];
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    /** Writes payload on a raw connection and waits for `responses` complete 'ok' answers. */
    const raw = async (payload: string, responses: number, sock?: net.Socket): Promise<net.Socket> => {
      const s = sock ?? net.connect(port, '127.0.0.1');
      if (!sock) sockets.push(s);
      let got = '';
      const done = new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer) => {
          got += d.toString('latin1');
          if (got.split('HTTP/1.1 200 OK').length - 1 === responses && got.endsWith('ok')) {
            s.off('data', onData);
            resolve();
          }
        };
        s.on('data', onData);
        s.once('error', reject);
      });
      s.write(payload);
      await done;
      return s;
    };
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const post = (path: string, body: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    // one connection: a GET alone (aggregated), then two GETs in one write
    const a = await raw(get('/ok/a1'), 1);
    await raw(get('/ok/a2') + get('/ok/a3'), 2, a);
    // another: a POST with its body in the same write (aggregated), then a POST + a GET in one write
    const b = await raw(post('/ok/b1', 'body'), 1);
    await raw(post('/ok/b2', 'body') + get('/ok/b3'), 2, b);
    await settle(() => clientRecords(port).filter((r) => r.direction === SX_L7_INGRESS).length >= 2);

    // aggregates + full-path exchanges = every exchange sent, each once
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 1, 'POST 200': 1 });
    const recs = clientRecords(port);
    expect(recs.every((r) => r.kept === SX_KEPT_NONE)).toBe(true);
    expect(
      recs
        .filter((r) => r.direction === SX_L7_EGRESS)
        .map((r) => r.text)
        .sort(),
    ).toEqual([get('/ok/a2') + get('/ok/a3'), post('/ok/b2', 'body') + get('/ok/b3')].sort());
    const answers = recs
      .filter((r) => r.direction === SX_L7_INGRESS)
      .map((r) => r.text)
      .join('');
    expect(answers.split('HTTP/1.1 200 OK').length - 1).toBe(4);
  });

  it('emits the later response chunks of a kept exchange with its reason, and none of an exchange not kept', async () => {
    const { port, agent } = await start('signals', 0);
    expect(await request(port, agent, 'GET', '/big/200')).toBe(200);
    expect(await request(port, agent, 'GET', '/big/500')).toBe(500);
    const responseBytes = () =>
      clientRecords(port)
        .filter((r) => r.direction === SX_L7_INGRESS)
        .reduce((s, r) => s + r.totalLen, 0);
    await settle(() => responseBytes() > BIG_BODY.length);
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 1, 'GET 500': 1 });
    const recs = clientRecords(port);
    expect(recs.every((r) => r.kept === SX_KEPT_ERROR)).toBe(true);
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS).map(requestLine)).toEqual(['GET /big/500 HTTP/1.1']);
    const responses = recs.filter((r) => r.direction === SX_L7_INGRESS);
    expect(responses.length).toBeGreaterThan(1); // 300 kB arrive in several reads
    expect(requestLine(responses[0]!)).toBe('HTTP/1.1 500 Internal Server Error');
    // every byte of the 500's response, headers and body, and nothing of the 200's
    const headerLen = responses[0]!.text.indexOf('\r\n\r\n') + 4;
    expect(responseBytes()).toBe(headerLen + BIG_BODY.length);
  });

  it('emits the stashed request of a connection closed unanswered, kept 0', async () => {
    const { port, agent } = await start('signals', 0);
    await expect(request(port, agent, 'GET', '/hang/1')).rejects.toThrow();
    await settle(() => clientRecords(port).length >= 1);
    const recs = clientRecords(port);
    expect(recs.map((r) => [requestLine(r), r.direction, r.kept])).toEqual([['GET /hang/1 HTTP/1.1', SX_L7_EGRESS, SX_KEPT_NONE]]);
    expect(await aggregates(port)).toEqual([]);
  });

  it('aggregates the server role too when loopback servers are captured', async () => {
    const { port, agent } = await start('signals', 0, { captureLoopbackServers: true });
    const N = 10;
    const M = 3;
    await mix(port, agent, N, M, 0);
    const serverRecords = () => records.filter((r) => r.role !== SX_DIR_CLIENT && r.sport === port);
    await settle(() => serverRecords().length >= 2 * M && clientRecords(port).length >= 2 * M);
    const all = await drainAll();
    const server = forPort(all, port, 'server');
    expect(counts(server)).toEqual({ 'GET 200': N, 'POST 503': M });
    expect(counts(forPort(all, port, 'client'))).toEqual({ 'GET 200': N, 'POST 503': M });
    for (const a of server) expect(a).toMatchObject({ pid: process.pid, laddr: '127.0.0.1', raddr: '127.0.0.1', lport: port, rport: 0 });
    const recs = serverRecords();
    expect(recs.every((r) => r.kept === SX_KEPT_ERROR)).toBe(true);
    expect(
      recs
        .filter((r) => r.direction === SX_L7_INGRESS)
        .map(requestLine)
        .sort(),
    ).toEqual(Array.from({ length: M }, (_, i) => `POST /fail/${i} HTTP/1.1`).sort());
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS && r.text.startsWith('HTTP/1.1 503'))).toHaveLength(M);
  });

  it('loses nothing when drained during load: the drained totals equal the requests sent', async () => {
    const { port, agent } = await start('signals', 0);
    const WORKERS = 4;
    const EACH = 100;
    let done = false;
    let drains = 0;
    const drained: L7AggregateRecord[] = [];
    const drainer = (async () => {
      while (!done) {
        drained.push(...(await probes!.drainL7Aggregates()));
        drains++;
        await sleep(5);
      }
    })();
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        for (let i = 0; i < EACH; i++) expect(await request(port, agent, 'GET', `/ok/${w}-${i}`)).toBe(200);
      }),
    );
    done = true;
    await drainer;
    drained.push(...(await drainAll()));
    expect(drains).toBeGreaterThan(3);
    expect(counts(forPort(drained, port))).toEqual({ 'GET 200': WORKERS * EACH });
  });

  it('classifies an HTTP/2 client preface as protocol 4, on the full path', async () => {
    await start('signals', 0);
    const srv = net.createServer((s) => s.once('data', () => s.end(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]))));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanups.push(() => srv.close());
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      c.on('data', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    await settle(() => clientRecords(port).length >= 2);
    const recs = clientRecords(port);
    expect(recs.map((r) => [r.direction, r.protocol, r.kept])).toEqual([
      [SX_L7_EGRESS, SX_PROTO_HTTP2, SX_KEPT_NONE],
      [SX_L7_INGRESS, SX_PROTO_HTTP2, SX_KEPT_NONE],
    ]);
    expect(recs[0]!.text).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(await aggregates(port)).toEqual([]);
  });

  it('in hooks mode emits and aggregates nothing', async () => {
    const { port, agent } = await start('hooks', 1_000_000);
    await mix(port, agent, 5, 2, 0);
    await sleep(1_000);
    expect(clientRecords(port)).toEqual([]);
    expect(await aggregates(port)).toEqual([]);
    const c = probes!.readCounters();
    expect([c.l7Events, c.l7Aggregated]).toEqual([0, 0]);
  });
});
