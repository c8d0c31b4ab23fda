/**
 * Talking to the Sextant server: the tRPC client with the token as Bearer, and the errors the CLI turns into
 * exit codes — bad usage (2), an unreachable server, a refused token or a server-side error (1).
 */
import type { AppRouter } from '@sextant/api';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

/** Usage errors: bad flags or arguments (exit 2). */
export class UsageError extends Error {}
/** Errors at run time: server unreachable, 401, bad input file (exit 1). */
export class CliError extends Error {}

export interface Connection {
  server: string;
  token: string | null;
}

const REQUEST_TIMEOUT_MS = 60_000;

export function normalizeServer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--server: not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server: expected an http(s) URL, got "${raw}"`);
  return url.toString().replace(/\/+$/, '');
}

const timedFetch: typeof fetch = (input, init) =>
  fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

export function apiClient(conn: Connection, token: string | null = conn.token) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({ url: `${conn.server}/api/trpc`, fetch: timedFetch, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) }),
    ],
  });
}
export type ApiClient = ReturnType<typeof apiClient>;

function rootCause(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5 && e instanceof Error && e.cause; i++) e = e.cause;
  return e;
}

/** Turns a failed call into a message a person can act on. */
export function describeCallError(err: unknown, conn: Connection): CliError {
  if (err instanceof TRPCClientError) {
    const data = err.data as { code?: string; httpStatus?: number } | undefined;
    if (data?.code === 'UNAUTHORIZED') {
      const hint = conn.token
        ? 'the token is unknown or revoked'
        : 'no token given (--token or SEXTANT_TOKEN; create one with "sextant token create")';
      return new CliError(`${conn.server} refused the request (401 Unauthorized): ${hint}`);
    }
    if (data?.code === 'FORBIDDEN') return new CliError(`${conn.server} refused the request (403 Forbidden): ${err.message}`);
    if (data?.httpStatus) return new CliError(`${conn.server} answered ${data.httpStatus} ${data.code ?? ''}: ${err.message}`);
    const cause = rootCause(err) as { code?: string; message?: string; name?: string };
    if (cause && (cause.code || cause.name === 'TimeoutError' || /fetch failed/.test(err.message))) {
      return new CliError(
        `cannot reach the Sextant server at ${conn.server} (${cause.code ?? cause.name ?? ''}${cause.message ? `: ${cause.message}` : ''})`,
      );
    }
    return new CliError(`unexpected answer from ${conn.server}: ${err.message}`);
  }
  return new CliError(err instanceof Error ? err.message : String(err));
}

/** Runs one call, mapping failures to CliError. */
export async function call<T>(conn: Connection, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw describeCallError(err, conn);
  }
}
