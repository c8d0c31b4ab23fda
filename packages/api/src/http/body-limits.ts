/**
 * The gate every tRPC request passes before tRPC sees it (both the Next.js route and the standalone
 * server): per-procedure body limits counted as bytes arrive (Content-Length is only a hint, chunked bodies
 * have none), credentials checked before a large body is read, and JSON nesting bounded before JSON.parse.
 *
 * Why: a 50 MB chunked body was read whole by the unauthenticated `auth.login`, and 10–30 MB of nested
 * `[[[…]]]` blocked the event loop for ~10 s. Only collectors (ingest) and admins (Hubble import) may send
 * large bodies, and only after they proved who they are; everything else fits in 64 KiB.
 */
import { BATCH_LIMITS } from '@sextant/shared';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

export const BODY_LIMITS = {
  /** Every procedure but the two below: sign-in, searches, settings (the largest is a filter, ~1 KB). */
  defaultBytes: 64 * 1024,
  /** ingest.*: collector batches (the shared wire limit). */
  ingestBytes: BATCH_LIMITS.maxBodyBytes,
  /** hubble.import: one request of `sextant import` (1000 jsonpb lines, typically 1–3 MB). */
  hubbleImportBytes: 16 * 1024 * 1024,
  /** Deepest JSON nesting accepted (a batched ingest call is ~8 deep). */
  maxJsonDepth: 32,
} as const;

export type Gate = { bytes: number; auth: 'collector' | 'admin' | null };

/** The procedure names a tRPC URL calls (`/api/trpc/a.b,c.d?batch=1`), or null when it names none. */
export function procedurePaths(url: URL, endpoint = '/api/trpc'): string[] | null {
  if (!url.pathname.startsWith(`${endpoint}/`)) return null;
  let rest: string;
  try {
    rest = decodeURIComponent(url.pathname.slice(endpoint.length + 1));
  } catch {
    return null;
  }
  const paths = rest.split(',');
  return paths.every((p) => /^[\w.]{1,200}$/.test(p)) ? paths : null;
}

/** A large limit only when every call of the request is a large-body procedure of the same kind. */
export function gateFor(paths: string[]): Gate {
  if (paths.every((p) => p.startsWith('ingest.'))) return { bytes: BODY_LIMITS.ingestBytes, auth: 'collector' };
  if (paths.every((p) => p === 'hubble.import')) return { bytes: BODY_LIMITS.hubbleImportBytes, auth: 'admin' };
  return { bytes: BODY_LIMITS.defaultBytes, auth: null };
}

/**
 * True when the JSON text nests arrays/objects deeper than max. A byte scan (brackets inside strings do not
 * count; UTF-8 continuation bytes are ≥ 0x80 so never look like brackets or quotes), linear and allocation-free.
 */
export function jsonTooDeep(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) return true;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return false;
}

/** Reads a body up to limit bytes; null (and the stream cancelled) as soon as it goes over. */
export async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const HTTP_STATUS: Partial<Record<TRPC_ERROR_CODE_KEY, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL_SERVER_ERROR: 500,
};

/** An error in tRPC's response shape (one per call of a batch), so tRPC clients show the message. */
export function trpcErrorResponse(
  code: TRPC_ERROR_CODE_KEY,
  message: string,
  calls = 1,
  batch = false,
  extraHeaders: Record<string, string> = {},
): Response {
  const httpStatus = HTTP_STATUS[code] ?? 400;
  const one = { error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus } } };
  const body = batch ? Array.from({ length: calls }, () => one) : one;
  return new Response(JSON.stringify(body), { status: httpStatus, headers: { 'content-type': 'application/json', ...extraHeaders } });
}

/** 'ok', or why not: no valid credentials (401), or valid ones without the role (403). */
export type Authenticate = (kind: 'collector' | 'admin', headers: Headers) => Promise<'ok' | 'unauthorized' | 'forbidden'>;

/**
 * Admits a tRPC request: returns a Request whose body is already read (within its limit) and checked, or
 * the error Response to send instead. 413 answers carry `Connection: close`: the rest of an oversized body
 * is not worth reading.
 */
export async function admitTrpcRequest(req: Request, authenticate: Authenticate, endpoint = '/api/trpc'): Promise<Request | Response> {
  const url = new URL(req.url);
  const paths = procedurePaths(url, endpoint);
  const batch = url.searchParams.get('batch') === '1';
  if (!paths) return trpcErrorResponse('BAD_REQUEST', 'no such procedure path');
  const calls = paths.length;
  const gate = gateFor(paths);
  if (req.method === 'GET' || req.method === 'HEAD') {
    const input = url.searchParams.get('input');
    if (input && jsonTooDeep(new TextEncoder().encode(input), BODY_LIMITS.maxJsonDepth)) {
      return trpcErrorResponse('BAD_REQUEST', `input nested deeper than ${BODY_LIMITS.maxJsonDepth} levels`, calls, batch);
    }
    return req;
  }
  const tooLarge = () =>
    trpcErrorResponse('PAYLOAD_TOO_LARGE', `request body over ${gate.bytes} bytes`, calls, batch, { connection: 'close' });
  const verdict = gate.auth ? await authenticate(gate.auth, req.headers) : 'ok';
  if (verdict !== 'ok') {
    await req.body?.cancel().catch(() => {});
    // The same words as the procedure builders, so clients see one message whichever refuses first.
    if (verdict === 'forbidden') return trpcErrorResponse('FORBIDDEN', 'admin role required', calls, batch, { connection: 'close' });
    const msg = gate.auth === 'collector' ? 'a valid collector token is required (Authorization: Bearer sxc_…)' : 'sign in first';
    return trpcErrorResponse('UNAUTHORIZED', msg, calls, batch, { connection: 'close' });
  }
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > gate.bytes) {
    await req.body?.cancel().catch(() => {});
    return tooLarge();
  }
  const body = await readLimited(req.body, gate.bytes);
  if (!body) return tooLarge();
  if (jsonTooDeep(body, BODY_LIMITS.maxJsonDepth)) {
    return trpcErrorResponse('BAD_REQUEST', `input nested deeper than ${BODY_LIMITS.maxJsonDepth} levels`, calls, batch);
  }
  const headers = new Headers(req.headers);
  headers.delete('content-length');
  headers.delete('transfer-encoding');
  return new Request(url, { method: req.method, headers, body, signal: req.signal });
}
