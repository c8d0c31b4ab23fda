/**
 * The API on a plain Node HTTP server: used by tests and benchmarks to drive the real tRPC path without
 * Next.js, and by anyone who wants the API alone. Serves /api/trpc/* (through the same gate and handler as
 * the web app: handleTrpcRequest) and /api/health and /api/metrics.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerDeps } from './context';
import { checkHealth } from './health';
import { edgeConfig } from './http/config';
import { handleTrpcRequest } from './http/handler';
import { stampPeer } from './http/peer';
import { metricsResponse } from './metrics/http';
import { processMetrics } from './metrics/process-metrics';

export interface StandaloneServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

function headersOf(req: http.IncomingMessage): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => h.append(k, x));
    else if (v !== undefined) h.set(k, v);
  }
  return h;
}

/**
 * A fetch Request over a Node request. The body is pulled as the gate reads it (backpressure through
 * pause/resume); cancelling it stops reading without destroying the socket, so a 413 can still be sent.
 * The signal aborts when the client goes away (ends a live-tail subscription).
 */
function toRequest(req: http.IncomingMessage, res: http.ServerResponse): Request {
  const ac = new AbortController();
  res.once('close', () => ac.abort());
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    url = new URL('http://localhost/');
  }
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers: headersOf(req), signal: ac.signal };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    let open = true;
    init.duplex = 'half';
    init.body = new ReadableStream<Uint8Array>(
      {
        start(c) {
          req.on('data', (chunk: Buffer) => {
            if (!open) return;
            c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if ((c.desiredSize ?? 0) <= 0) req.pause();
          });
          req.on('end', () => open && ((open = false), c.close()));
          req.on('error', (e) => open && ((open = false), c.error(e)));
        },
        pull() {
          req.resume();
        },
        cancel() {
          open = false;
          req.pause();
        },
      },
      { highWaterMark: 4 },
    );
  }
  return new Request(url, init);
}

/** What is read and thrown away of a refused body so the client, still sending, gets to read the answer. */
const DRAIN_MAX_BYTES = 32 * 1024 * 1024;
const DRAIN_MAX_MS = 5_000;

/**
 * A refused request (401, 413) whose body is still arriving: closing at once would reset the connection and
 * the client would lose the answer while it is still writing. Read and discard the rest, up to a bound of
 * bytes and time, then close.
 */
function drainRefused(req: http.IncomingMessage): void {
  if (req.complete) return;
  let drained = 0;
  const stop = () => req.socket.destroy();
  const timer = setTimeout(stop, DRAIN_MAX_MS);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.byteLength;
    if (drained <= DRAIN_MAX_BYTES) return;
    clearTimeout(timer);
    stop();
  });
  req.once('end', () => clearTimeout(timer));
  req.resume();
}

async function writeResponse(response: Response, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
  res.statusCode = response.status;
  // Connection handling is ours (drainRefused); the gate's `Connection: close` is for servers that cannot drain.
  for (const [k, v] of response.headers) if (k !== 'set-cookie' && k !== 'connection') res.setHeader(k, v);
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader('set-cookie', cookies);
  res.flushHeaders();
  if (response.body) {
    const reader = response.body.getReader();
    signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!res.write(value)) await writable(res);
      }
    } catch {
      // The client went away mid-stream (a closed live tail): nothing left to write to.
    }
  }
  res.end();
}

/** Resolves once the response can take more bytes or has closed; removes both listeners either way, so a long
 * stream (a live tail) does not pile up one 'close' listener per backpressure wait. */
function writable(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function startStandaloneServer(deps: ServerDeps, opts: { port?: number; host?: string } = {}): Promise<StandaloneServer> {
  // A bad setting stops the start, instead of answering every request 500.
  edgeConfig();
  const server = http.createServer((req, res) => {
    stampPeer(req);
    if (req.url === '/api/health' && req.method === 'GET') {
      void checkHealth(deps.db, deps.version).then((h) => {
        res.writeHead(h.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(h));
      });
      return;
    }
    if (req.url === '/api/metrics' && req.method === 'GET') {
      void metricsResponse(deps.db, processMetrics, req.headers.authorization ?? null).then((m) => {
        res.writeHead(m.status, m.headers);
        res.end(m.body);
      });
      return;
    }
    if (!req.url?.startsWith('/api/trpc/')) return void res.writeHead(404).end();
    const request = toRequest(req, res);
    void handleTrpcRequest(deps, request)
      .then(async (response) => {
        await writeResponse(response, res, request.signal);
        drainRefused(req);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end();
      });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
