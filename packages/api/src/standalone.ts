/**
 * The API on a plain Node HTTP server (tRPC's standalone adapter): used by tests and benchmarks to drive
 * the real tRPC path without Next.js, and by anyone who wants the API alone. Serves /api/trpc/* and
 * /api/health and /api/metrics, with the same body limit as the web app.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BATCH_LIMITS } from '@sextant/shared';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createContext, type ServerDeps } from './context';
import { checkHealth } from './health';
import { metricsResponse } from './metrics/http';
import { processMetrics } from './metrics/process-metrics';
import { appRouter } from './root';

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

export async function startStandaloneServer(deps: ServerDeps, opts: { port?: number; host?: string } = {}): Promise<StandaloneServer> {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    maxBodySize: BATCH_LIMITS.maxBodyBytes,
    createContext: ({ req, res }) =>
      createContext(deps, headersOf(req), (cookie) => res.appendHeader('set-cookie', cookie)),
  });
  const server = http.createServer((req, res) => {
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
    if (req.url?.startsWith('/api/trpc/')) return void trpc(req, res);
    res.writeHead(404).end();
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
