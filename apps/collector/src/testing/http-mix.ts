/**
 * Real HTTP peers for the signals-mode kernel tests, each a node process of its own (the collector does not
 * observe its own process): a server with known statuses and a slow route, and a keep-alive client that runs
 * a plan — a list of requests one after another, or a bounded flat-out loop over a few connections — and
 * prints what it got per (method, path, status): the ground truth. With a certificate (`new HttpMix(cert)`) the
 * same server speaks HTTPS and the client verifies it against that certificate (TLS tests).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { TlsCert } from './tls-cert';

/** GET /ok 200 (a body of `okBytes`, default 4), GET /missing 404, GET /fail 503, POST /items 201, GET /slow 200 after `slowMs`. */
const SERVER = `
const http = require('http');
const fs = require('fs');
const slowMs = Number(process.argv[1]);
const ok = 'b'.repeat(Number(process.argv[2] || 4));
const tls = process.argv[3] ? JSON.parse(process.argv[3]) : null;
const handle = (q, r) => {
  q.resume();
  q.on('end', () => {
    if (q.url === '/fail') { r.writeHead(503, { 'content-length': 11 }); return r.end('unavailable'); }
    if (q.url === '/missing') { r.writeHead(404, { 'content-length': 2 }); return r.end('no'); }
    if (q.url === '/slow') return setTimeout(() => { r.writeHead(200, { 'content-length': 4 }); r.end('slow'); }, slowMs);
    if (q.method === 'POST') { r.writeHead(201, { 'content-length': 7 }); return r.end('created'); }
    r.writeHead(200, { 'content-length': ok.length }); r.end(ok);
  });
};
const s = tls ? require('https').createServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }, handle) : http.createServer(handle);
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

/**
 * argv: port, plan JSON. Plan: { sequence: [method, path][] } (one at a time, one connection) or
 * { total, connections, failEvery, slowAt: number[] } (flat out: request i is /fail when i % failEvery == 0,
 * /slow when listed, else /ok). Prints { counts: { 'GET /ok 200': n, ... }, ms, slowNs: [request start → response
 * headers of each /slow, ns], bytesWritten, bytesRead: what its sockets moved }. argv[3], optional: { cert } — HTTPS,
 * trusting that certificate.
 */
const CLIENT = `
const tls = process.argv[3] ? JSON.parse(process.argv[3]) : null;
const http = require(tls ? 'https' : 'http');
const port = Number(process.argv[1]);
const plan = JSON.parse(process.argv[2]);
const ca = tls ? require('fs').readFileSync(tls.cert) : undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: plan.connections || 1, ca });
const counts = {};
const slowNs = [];
const sockets = new Set();
function send(method, path) {
  return new Promise((resolve, reject) => {
    const body = method === 'POST' ? 'item=1' : '';
    const headers = { host: 'shop.test' };
    if (body) headers['content-length'] = body.length;
    const t0 = process.hrtime.bigint();
    const r = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      if (path === '/slow') slowNs.push(Number(process.hrtime.bigint() - t0));
      res.resume();
      res.on('end', () => { const k = method + ' ' + path + ' ' + res.statusCode; counts[k] = (counts[k] || 0) + 1; resolve(); });
    });
    r.on('socket', (s) => sockets.add(s));
    r.on('error', reject);
    r.end(body || undefined);
  });
}
(async () => {
  const t0 = Date.now();
  if (plan.sequence) {
    for (const [m, p] of plan.sequence) await send(m, p);
  } else {
    let next = 0;
    const slow = new Set(plan.slowAt);
    const worker = async () => {
      while (next < plan.total) {
        const i = next++;
        await send('GET', i % plan.failEvery === 0 ? '/fail' : slow.has(i) ? '/slow' : '/ok');
      }
    };
    await Promise.all(Array.from({ length: plan.connections }, worker));
  }
  let bytesWritten = 0;
  let bytesRead = 0;
  for (const s of sockets) { bytesWritten += s.bytesWritten; bytesRead += s.bytesRead; }
  console.log(JSON.stringify({ counts, ms: Date.now() - t0, slowNs, bytesWritten, bytesRead }));
  agent.destroy();
})().catch((e) => { console.error(e); process.exit(1); });`;

export interface SequencePlan {
  sequence: [method: string, path: string][];
}
export interface FlatOutPlan {
  total: number;
  connections: number;
  failEvery: number;
  slowAt: number[];
}
export interface ClientResult {
  counts: Record<string, number>;
  ms: number;
  /** Each /slow request's time from the client's request call to its response headers (an upper bound of what the kernel can see), ns. */
  slowNs: number[];
  /** What the client's sockets wrote and read in all (cleartext: the HTTP bytes on the wire; TLS: ciphertext). */
  bytesWritten: number;
  bytesRead: number;
}

export class HttpMix {
  private readonly children: ChildProcess[] = [];

  /** With `tls`, the server speaks HTTPS with that certificate and clients trust it; peers run `node` (another node binary file if given). */
  constructor(
    private readonly tls?: TlsCert,
    private readonly node = process.execPath,
  ) {}

  /** Starts a server; resolves with its port. */
  async server(slowMs: number, okBytes = 4): Promise<number> {
    const child = this.spawn(SERVER, [String(slowMs), String(okBytes), ...this.tlsArg()]);
    return Number(
      await new Promise<string>((resolve, reject) => {
        child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
        child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
      }),
    );
  }

  /** Runs a client plan to its end; resolves with what the client counted. */
  async client(port: number, plan: SequencePlan | FlatOutPlan): Promise<ClientResult> {
    const child = this.spawn(CLIENT, [String(port), JSON.stringify(plan), ...this.tlsArg()]);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`client exited with ${code}: ${out}`);
    return JSON.parse(out) as ClientResult;
  }

  /**
   * Runs a client plan while blocking this whole process (spawnSync): a collector running here cannot read its
   * kernel rings meanwhile, as when its JS falls behind.
   */
  clientBlocking(port: number, plan: SequencePlan | FlatOutPlan): ClientResult {
    const r = spawnSync(this.node, ['-e', CLIENT, String(port), JSON.stringify(plan), ...this.tlsArg()], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`client exited with ${r.status}: ${r.stdout} ${r.stderr}`);
    return JSON.parse(r.stdout) as ClientResult;
  }

  private tlsArg(): string[] {
    return this.tls ? [JSON.stringify({ key: this.tls.key, cert: this.tls.cert })] : [];
  }

  close(): void {
    for (const c of this.children) c.kill('SIGKILL');
  }

  private spawn(script: string, args: string[]): ChildProcess {
    const child = spawn(this.node, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(child);
    return child;
  }
}
