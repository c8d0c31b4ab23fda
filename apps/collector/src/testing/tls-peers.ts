/**
 * Real TLS peers for the collector's kernel tests (each a process of its own: the collector does not observe its
 * own): nginx over HTTPS in front of the HTTP mix (testing/http-mix.ts, which also gives the node https server and
 * client), curl over HTTPS on one connection, node `http2.createSecureServer` (h2 over TLS, ALPN) with many streams in
 * flight on one session, and @grpc/grpc-js over TLS (unary and server streaming, OK and error statuses). Every
 * client verifies the server against the test's self-signed certificate (testing/tls-cert.ts) and prints what it
 * got: the ground truth the stored records are compared with.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TlsCert } from './tls-cert';

const run = promisify(execFile);

/** A TLS port for nginx, away from the ranges the rig and the benchmarks draw plain ports from. */
export const randomTlsPort = (): number => 23000 + Math.floor(Math.random() * 3000);

/**
 * `server { … }` directives for the rig's nginx (`rig.nginx(…)`): an extra listener on `tlsPort` speaking TLS with
 * `cert`, every request proxied to the HTTP mix server on `upstreamPort` (its statuses and delays; the hop from
 * nginx to it is cleartext HTTP on loopback), and `/nginx-ok` answered by nginx itself.
 */
export function nginxTlsServer(cert: TlsCert, tlsPort: number, upstreamPort: number): string {
  return `listen 127.0.0.1:${tlsPort} ssl; ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key}; keepalive_requests 100000;
    location = /nginx-ok { return 200 "ok"; }
    location / { proxy_pass http://127.0.0.1:${upstreamPort}; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }`;
}

export interface CurlResult {
  /** Per request in order: method, path, status, seconds from curl's start of that transfer to its first response byte. */
  method: string;
  path: string;
  status: number;
  firstByteSeconds: number;
}

/**
 * One curl process (so one TLS connection, reused) over HTTPS to 127.0.0.1:`port` with the requests in order:
 * [method, path] — a POST sends `item=1`. curl links the system libssl.so.3.
 */
export async function curlHttps(cert: TlsCert, port: number, requests: [method: string, path: string][]): Promise<CurlResult[]> {
  const args: string[] = [];
  requests.forEach(([method, path], i) => {
    if (i > 0) args.push('--next');
    args.push('-s', '--cacert', cert.cert, '-o', '/dev/null', '-w', '%{http_code} %{time_starttransfer}\\n', '-X', method);
    if (method === 'POST') args.push('-d', 'item=1');
    args.push(`https://127.0.0.1:${port}${path}`);
  });
  const { stdout } = await run('curl', args, { timeout: 60_000 });
  const lines = stdout.trim().split('\n');
  if (lines.length !== requests.length) throw new Error(`curl printed ${lines.length} results for ${requests.length} requests: ${stdout}`);
  return lines.map((l, i) => {
    const [code, seconds] = l.split(' ');
    return { method: requests[i]![0], path: requests[i]![1], status: Number(code), firstByteSeconds: Number(seconds) };
  });
}

/** Status the h2 and HTTP mix servers answer: /fail 503, /missing 404, POST 201, else 200 (/slow after its delay). */
export const expectedStatus = (method: string, path: string): number =>
  path === '/fail' ? 503 : path === '/missing' ? 404 : method === 'POST' ? 201 : 200;

/**
 * node http2 server; argv: slow delay (ms), then optional TLS JSON { key, cert } (h2 over TLS, ALPN h2 only; without
 * it h2c). Routes as `expectedStatus`. Prints its port.
 */
export const H2_SERVER = `
const http2 = require('http2');
const fs = require('fs');
const slowMs = Number(process.argv[1]);
const tls = process.argv[2] ? JSON.parse(process.argv[2]) : null;
const s = tls ? http2.createSecureServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }) : http2.createServer();
s.on('stream', (st, h) => {
  const p = h[':path'];
  st.on('error', () => {});
  st.resume();
  st.on('end', () => {
    const reply = (code, body) => { st.respond({ ':status': code, 'content-type': 'text/plain' }); st.end(body); };
    if (p === '/fail') return reply(503, 'down');
    if (p === '/missing') return reply(404, 'no');
    if (p === '/slow') return setTimeout(() => reply(200, 'slow'), slowMs);
    if (h[':method'] === 'POST') return reply(201, 'made');
    reply(200, 'ok');
  });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

/**
 * node http2 client: one session to argv[1] (port), every request of argv[2] (JSON [method, path, body?]) started at
 * once, so they are all in flight on one connection; argv[3] optional TLS JSON { cert } (https, trusting it; ALPN
 * h2). Prints [status, ns from request to response headers] per request, in plan order.
 */
export const H2_CLIENT = `
const http2 = require('http2');
const fs = require('fs');
const plan = JSON.parse(process.argv[2]);
const tls = process.argv[3] ? JSON.parse(process.argv[3]) : null;
const session = tls
  ? http2.connect('https://127.0.0.1:' + process.argv[1], { ca: fs.readFileSync(tls.cert), servername: 'localhost' })
  : http2.connect('http://127.0.0.1:' + process.argv[1]);
const one = ([m, p, body]) => new Promise((res, rej) => {
  const t0 = process.hrtime.bigint();
  const r = session.request({ ':method': m, ':path': p, 'user-agent': 'h2-tls-test' }, { endStream: !body });
  let code = 0;
  let ns = 0;
  r.on('response', (h) => { code = h[':status']; ns = Number(process.hrtime.bigint() - t0); });
  r.on('error', rej);
  r.resume();
  r.on('close', () => res([code, ns]));
  if (body) r.end(body);
});
Promise.all(plan.map(one)).then((r) => { console.log(JSON.stringify(r)); session.close(); }, (e) => { console.error(e); process.exit(1); });`;

const GRPC_SERVICE = `
const grpc = require('@grpc/grpc-js');
const fs = require('fs');
const id = { requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
const svc = {
  Get: { path: '/test.Store/Get', requestStream: false, responseStream: false, ...id },
  List: { path: '/test.Store/List', requestStream: false, responseStream: true, ...id },
};`;

/**
 * @grpc/grpc-js server for test.Store (raw-byte messages): Get — key "missing" NOT_FOUND (5), "boom" INTERNAL (13),
 * else OK; List — one reply per character of the key then OK, or "flaky": one reply then UNAVAILABLE (14).
 * argv[1], optional: TLS JSON { key, cert }. Prints its port.
 */
export const GRPC_SERVER = `${GRPC_SERVICE}
const tls = process.argv[1] ? JSON.parse(process.argv[1]) : null;
const s = new grpc.Server();
s.addService(svc, {
  Get: (call, done) => {
    const k = call.request.toString();
    if (k === 'missing') return done({ code: grpc.status.NOT_FOUND, details: 'no key ' + k });
    if (k === 'boom') return done({ code: grpc.status.INTERNAL, details: 'store failed' });
    done(null, Buffer.from('v'));
  },
  List: (call) => {
    const k = call.request.toString();
    if (k === 'flaky') { call.write(Buffer.from('1')); return call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'backend went away' }); }
    for (let i = 0; i < k.length; i++) call.write(Buffer.from(String(i)));
    call.end();
  },
});
const creds = tls
  ? grpc.ServerCredentials.createSsl(null, [{ private_key: fs.readFileSync(tls.key), cert_chain: fs.readFileSync(tls.cert) }], false)
  : grpc.ServerCredentials.createInsecure();
s.bindAsync('127.0.0.1:0', creds, (e, port) => { if (e) throw e; console.log(port); });`;

/**
 * @grpc/grpc-js client: the calls of argv[2] (JSON [method, key]) one after another on one channel to argv[1] (port);
 * argv[3] optional TLS JSON { cert } (trusted as the root). Prints [method, key, grpc status code] per call.
 */
export const GRPC_CLIENT = `${GRPC_SERVICE}
const tls = process.argv[3] ? JSON.parse(process.argv[3]) : null;
const C = grpc.makeGenericClientConstructor(svc, 'Store');
const creds = tls ? grpc.credentials.createSsl(fs.readFileSync(tls.cert)) : grpc.credentials.createInsecure();
const c = new C('127.0.0.1:' + process.argv[1], creds, tls ? { 'grpc.ssl_target_name_override': 'localhost' } : {});
const plan = JSON.parse(process.argv[2]);
const one = ([m, k]) => new Promise((res) => {
  if (m === 'Get') return c.Get(Buffer.from(k), (err) => res([m, k, err ? err.code : 0]));
  const call = c.List(Buffer.from(k));
  call.on('data', () => {});
  call.on('error', (err) => res([m, k, err.code]));
  call.on('status', (st) => st.code === 0 && res([m, k, 0]));
});
(async () => { const r = []; for (const x of plan) r.push(await one(x)); console.log(JSON.stringify(r)); c.close(); })();`;

/** The TLS argument the scripts above take: the server gets key and certificate, a client the certificate only. */
export const serverTlsArg = (cert: TlsCert): string => JSON.stringify({ key: cert.key, cert: cert.cert });
export const clientTlsArg = (cert: TlsCert): string => JSON.stringify({ cert: cert.cert });
