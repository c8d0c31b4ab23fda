/**
 * What the signals mode's aggregates say about bytes and TLS, on the real kernel (docs/l7-line-rate.md): every
 * exchange's request and response bytes, summed per key, must equal what the client's socket moved for it (its own
 * byte counters around each exchange, one exchange at a time on one connection): responses of 300 kB read in many
 * chunks, kept (503) or not, a POST with its body in the request's write, and the last response's later chunks,
 * which reach the aggregate at the socket's close. TLS plaintext (node's OpenSSL, through the uprobes) is keyed
 * with its source and counted in plaintext bytes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kernelMissing } from './testing/kernel';
import { makeSelfSignedCert } from './testing/tls-cert';
import { BIG_BODY, drainAll, forPort, onCleanup, probes, sleep, start, stop } from './testing/l7-signals-rig';
import type { L7AggregateRecord } from './probes';

const noKernel = kernelMissing();
afterEach(stop);

interface Sums {
  count: number;
  requestBytes: number;
  responseBytes: number;
}
const add = (m: Map<string, Sums>, k: string, count: number, req: number, res: number) => {
  const s = m.get(k) ?? { count: 0, requestBytes: 0, responseBytes: 0 };
  m.set(k, { count: s.count + count, requestBytes: s.requestBytes + req, responseBytes: s.responseBytes + res });
};
const sorted = (m: Map<string, Sums>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * Drains until the aggregates of `port` (client role) add up to `want` exchanges and `bytes` in all (5 s at most),
 * then once more for stragglers; sums them per "METHOD status" (and the TLS source of every key).
 */
async function drained(port: number, want: number, bytes: number): Promise<{ sums: Map<string, Sums>; keys: L7AggregateRecord[] }> {
  const keys: L7AggregateRecord[] = [];
  const total = () => keys.reduce((s, a) => s + a.requestBytes + a.responseBytes, 0);
  const count = () => keys.reduce((s, a) => s + a.count, 0);
  for (let i = 0; i < 50 && (count() < want || total() < bytes); i++) {
    keys.push(...forPort(await drainAll(), port));
    if (count() < want || total() < bytes) await sleep(100);
  }
  await sleep(300);
  keys.push(...forPort(await drainAll(), port));
  const sums = new Map<string, Sums>();
  for (const a of keys) add(sums, `${a.method} ${a.status}`, a.count, a.requestBytes, a.responseBytes);
  return { sums, keys };
}

describe.skipIf(noKernel)('signals-mode aggregates: bytes and TLS source', () => {
  it('cleartext: per (method, status), the exact bytes the client socket wrote and read for its exchanges', async () => {
    const { port } = await start('signals', 0); // budget 0: only the 503s are kept
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    const plan: [string, string, string | undefined][] = [
      ['GET', '/ok/1', undefined],
      ['GET', '/big/200', undefined],
      ['POST', '/ok/form', 'f='.padEnd(5_000, 'v')],
      ['GET', '/big/503', undefined],
      ['POST', '/fail/1', 'payload'],
      ['GET', '/ok/2', undefined],
      ['GET', '/big/200', undefined],
      ['GET', '/big/404', undefined],
      ['DELETE', '/ok/3', undefined],
      ['GET', '/big/200', undefined], // the last: its later chunks reach the aggregate at the socket's close
    ];
    const truth = new Map<string, Sums>();
    let socket: Socket | undefined;
    for (const [method, p, body] of plan) {
      const before = socket ? [socket.bytesWritten, socket.bytesRead] : [0, 0];
      const { status, s } = await new Promise<{ status: number; s: Socket }>((resolve, reject) => {
        let sock: Socket | undefined;
        const req = http.request({ host: '127.0.0.1', port, method, path: p, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, s: sock! }));
        });
        req.on('socket', (x) => (sock = x));
        req.on('error', reject);
        req.end(body);
      });
      expect(socket === undefined || s === socket, 'one connection throughout').toBe(true);
      socket = s;
      add(truth, `${method} ${status}`, 1, s.bytesWritten - before[0]!, s.bytesRead - before[1]!);
    }
    expect([...truth.keys()].sort()).toEqual(['DELETE 200', 'GET 200', 'GET 404', 'GET 503', 'POST 200', 'POST 503']);
    expect(truth.get('GET 200')!.responseBytes).toBeGreaterThan(3 * BIG_BODY.length); // three 300 kB bodies
    agent.destroy();
    const all = [...truth.values()].reduce((s, t) => s + t.requestBytes + t.responseBytes, 0);
    const { sums, keys } = await drained(port, plan.length, all);
    expect(sorted(sums)).toEqual(sorted(truth));
    expect(keys.every((a) => a.tls === undefined)).toBe(true);
  });

  it('TLS plaintext (node): keyed tls = node, counted in plaintext bytes, a 100 kB response in many reads', async () => {
    await start('signals', 0);
    const a = probes().tlsProbes().attachFile(fs.realpathSync(process.execPath), 'node');
    onCleanup(() => probes().tlsProbes().detach(a));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-agg-tls-'));
    onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    makeSelfSignedCert(dir); // key.pem and cert.pem, for 127.0.0.1 among others (the client verifies it)
    const out = await new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', TLS_PEERS, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      c.stdout.on('data', (d: Buffer) => (s += d.toString()));
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`peers exited ${code}: ${s}`))));
    });
    const { port, exchanges } = JSON.parse(out) as { port: number; exchanges: [string, number, number, number][] };
    const truth = new Map<string, Sums>();
    for (const [method, status, req, res] of exchanges) add(truth, `${method} ${status}`, 1, req, res);
    const all = exchanges.reduce((s, [, , req, res]) => s + req + res, 0);
    const { sums, keys } = await drained(port, exchanges.length, all);
    expect(sorted(sums)).toEqual(sorted(truth));
    expect(keys.map((k) => k.tls)).toEqual(keys.map(() => 'node'));
  });
});

// One process: a TLS server answering each request by its path (/s 200 "hello", /big 200 100 kB, /e 503 100 kB), and
// a client sending them one at a time on one connection, each response read to its end. Prints the port and each
// exchange's method, status and plaintext request and response sizes.
const TLS_PEERS = `
const tls = require('node:tls'); const fs = require('node:fs');
const [key, cert] = ['key', 'cert'].map((n) => fs.readFileSync(process.argv[1] + '/' + n + '.pem'));
const ANSWERS = { '/s': [200, 'OK', 'hello'], '/big': [200, 'OK', 'z'.repeat(100000)], '/e': [503, 'Service Unavailable', 'e'.repeat(100000)] };
const res = (p) => { const [c, r, b] = ANSWERS[p]; return 'HTTP/1.1 ' + c + ' ' + r + '\\r\\nContent-Length: ' + b.length + '\\r\\n\\r\\n' + b; };
const req = (p) => 'GET ' + p + ' HTTP/1.1\\r\\nHost: shop.test\\r\\n\\r\\n';
const srv = tls.createServer({ key, cert }, (s) => { let b = ''; s.on('data', (d) => { b += d; while (b.includes('\\r\\n\\r\\n')) { const end = b.indexOf('\\r\\n\\r\\n') + 4; s.write(res(b.slice(0, end).split(' ')[1])); b = b.slice(end); } }); });
const plan = ['/s', '/big', '/e', '/s', '/big'];
const done = [];
srv.listen(0, '127.0.0.1', () => {
  const c = tls.connect({ port: srv.address().port, host: '127.0.0.1', ca: cert }, () => next());
  let got = 0;
  const next = () => { if (done.length === plan.length) return c.end(); got = 0; c.write(req(plan[done.length])); };
  c.on('data', (d) => { got += d.length; const p = plan[done.length]; if (got === res(p).length) { done.push(['GET', ANSWERS[p][0], req(p).length, got]); next(); } });
  c.on('close', () => { console.log(JSON.stringify({ port: srv.address().port, exchanges: done })); srv.close(); });
});`;
