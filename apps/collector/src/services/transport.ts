/** The collector's tRPC client to the server (type-only import of the router: no server code ships here). */
import type { AppRouter } from '@sextant/api';
import type { IngestResult, RegisterInput } from '@sextant/shared';
import http from 'node:http';
import https from 'node:https';
import type { PreparedBatch } from './prepared-batch';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

export interface Transport {
  register(info: RegisterInput): Promise<{ collectorId: string; name: string; serverVersion: string }>;
  /** ingest.push with the batch's JSON as the body, exactly what the tRPC client would send, serialized once. */
  push(batch: PreparedBatch): Promise<IngestResult>;
  /** collectors.control: until when (epoch ms, the server's clock) every exchange should be recorded; null = no capture. */
  control(): Promise<{ recordAllUntil: number | null }>;
}

/** A failed ingest.push: `code` is the tRPC error code (or HTTP_<status> when the answer was not tRPC's). */
export class PushError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PushError';
  }
}

export function trpcTransport(server: string, token: string, timeoutMs = 30_000): Transport {
  const pushUrl = `${server.replace(/\/$/, '')}/api/trpc/ingest.push`;
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server.replace(/\/$/, '')}/api/trpc`,
        headers: () => ({ authorization: `Bearer ${token}` }),
        // node:http, not the global fetch: fetch's HTTP parser is WebAssembly (undici's llhttp), and compiling it
        // took ~40 MB at the collector's start (V8's optimizing tier in its worker threads), ~24 MB of it kept.
        fetch: async (url, init) => {
          const body = typeof init?.body === 'string' ? Buffer.from(init.body) : undefined;
          const headers = (init?.headers ?? {}) as Record<string, string>; // (tRPC gives a plain object)
          const res = await request(init?.method ?? 'GET', String(url), headers, body, timeoutMs);
          return {
            ok: res.status >= 200 && res.status < 300,
            status: res.status,
            json: async () => JSON.parse(res.body) as unknown,
          } as Response;
        },
      }),
    ],
  });
  return {
    register: (info) => client.ingest.register.mutate(info),
    control: () => client.collectors.control.query(),
    push: async (batch) => {
      const res = await request(
        'POST',
        pushUrl,
        { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        batch.body,
        timeoutMs,
      );
      const text = res.body;
      let answer: { result?: { data?: IngestResult }; error?: { message?: string; data?: { code?: string } } };
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        throw new PushError(
          res.status === 413 ? 'PAYLOAD_TOO_LARGE' : `HTTP_${res.status}`,
          `ingest.push: HTTP ${res.status}, not a tRPC answer`,
        );
      }
      if (answer.error) throw new PushError(answer.error.data?.code ?? `HTTP_${res.status}`, answer.error.message ?? 'ingest.push failed');
      if (!answer.result?.data) throw new PushError(`HTTP_${res.status}`, 'ingest.push: answer without a result');
      return answer.result.data;
    },
  };
}

// The push path sends tens of batches a second at high connection rates: node:http with kept-alive
// sockets costs a fraction of fetch's stream machinery per request (measured in bench:collector).
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 8 }), https: new https.Agent({ keepAlive: true, maxSockets: 8 }) };

/** Sends a request (a body or none) and reads the whole answer; network errors and the timeout reject. */
function request(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const mod = secure ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method,
        agent: secure ? agents.https : agents.http,
        headers: body ? { ...headers, 'content-length': body.length } : headers,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${u.pathname.split('/').pop()}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Answers that mean "this batch, as it is, will never be accepted" (4xx about the input). Authentication
// (401/403: a token can be fixed), 404/429 and every 5xx are worth retrying.
const REFUSED = new Set(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'PARSE_ERROR', 'UNPROCESSABLE_CONTENT', 'HTTP_400', 'HTTP_413', 'HTTP_422']);

/** Whether sending again could succeed: network errors and server faults yes; a refused batch no. */
export function isRetriable(err: unknown): boolean {
  const code =
    err instanceof PushError ? err.code : err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
  return !(code !== undefined && REFUSED.has(code));
}

/** The error code and the server's reason, for logs and the dead-letter file. */
export function errorReason(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : '';
  return message && message !== code ? `${code}: ${message}` : code;
}

export function errorCode(err: unknown): string {
  if (err instanceof PushError) return err.code;
  if (err instanceof TRPCClientError) return (err.data as { code?: string } | undefined)?.code ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
