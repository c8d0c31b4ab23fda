/**
 * HTTP/1.x and HTTP/2: an exchange is a request with its response (an HTTP/2 stream); 5xx are errors. A gRPC
 * call (HTTP/2, `http.grpc`) is classed by its grpc-status, an HTTP/2 stream reset by an error code by that.
 */
import type { z } from 'zod';
import type { HttpInfo } from '../flow';
import type { StatusClass } from '../status';
import { compact, type L7ProtocolSpec } from './spec';

export function httpStatusClass(code: number | undefined): StatusClass {
  if (code === undefined || code === 0) return 'none';
  const c = Math.floor(code / 100);
  return c >= 1 && c <= 5 ? (`${c}xx` as StatusClass) : 'error';
}

/** gRPC status codes by value (grpc/doc/statuscodes.md). */
export const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export function grpcStatusName(status: number): string {
  return GRPC_STATUS_NAMES[status] ?? `CODE_${status}`;
}

/**
 * A gRPC status in the HTTP classes, by the HTTP status gRPC's own mapping gives it (as gateways answer):
 * OK is 2xx; what the caller got wrong or gave up (CANCELLED, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
 * PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNAUTHENTICATED) 4xx, as
 * HTTP 4xx, not errors; UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS are 5xx,
 * errors; codes outside the spec are errors.
 */
export function grpcStatusClass(status: number): StatusClass {
  if (status === 0) return '2xx';
  if ([2, 4, 12, 13, 14, 15].includes(status)) return '5xx';
  return status >= 1 && status <= 16 ? '4xx' : 'error';
}

/** HTTP/2 resets that end a stream normally or by the client's choice (as a client reset of a connection). */
const BENIGN_RESETS = new Set(['NO_ERROR', 'CANCEL']);

function absoluteUrl(url: string, host: string | undefined): string {
  return url.startsWith('/') && host ? `http://${host}${url}` : url;
}

interface HubbleHttp {
  code?: number | string;
  method?: string;
  url?: string;
  protocol?: string;
  headers?: { key: string; value?: string }[];
}

export const httpProtocol: L7ProtocolSpec = {
  label: 'HTTP',
  transports: ['tcp'],
  summary: (e) => {
    const h = e.http;
    if (!h) return 'HTTP';
    const reset = h.reset ? ` (reset ${h.reset})` : '';
    const lost = h.notDecodable ? ` (headers not decodable: ${h.notDecodable})` : '';
    if (h.grpc) {
      const outcome = h.grpc.status === undefined ? (h.code === undefined ? '…' : String(h.code)) : grpcStatusName(h.grpc.status);
      return `gRPC ${h.grpc.service}/${h.grpc.method} → ${outcome}${reset}`;
    }
    if (h.notDecodable && !h.method) return `HTTP/2 stream ${h.streamId ?? '?'} → ${h.code ?? '…'}${lost}${reset}`;
    return `${h.method} ${h.path} → ${h.code ?? '…'}${lost}${reset}`;
  },
  statusClass: (e) => {
    const h = e.http;
    if (h?.grpc?.status !== undefined) return grpcStatusClass(h.grpc.status);
    const byCode = httpStatusClass(h?.code);
    if (h?.reset && !BENIGN_RESETS.has(h.reset) && byCode !== '5xx') return 'error';
    return byCode;
  },
  toHubble: (e) => {
    const h = e.http;
    if (!h) return undefined;
    const headers = h.headers.map((x) => ({ key: x.key, value: x.value }));
    // Hubble's HTTP object has no gRPC fields: the outcome travels as the trailers gRPC itself sends.
    if (h.grpc?.status !== undefined) headers.push({ key: 'grpc-status', value: String(h.grpc.status) });
    if (h.grpc?.message) headers.push({ key: 'grpc-message', value: h.grpc.message });
    return compact({
      code: h.code,
      method: h.method,
      url: absoluteUrl(h.url, h.host),
      protocol: h.protocol,
      headers,
    });
  },
  fromHubble(h: HubbleHttp) {
    const url = h.url ?? '';
    const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url);
    const rest = abs ? url.slice(abs[0].length) || '/' : url;
    const q = rest.search(/[?#]/);
    const http: z.input<typeof HttpInfo> = {
      method: h.method ?? '',
      url,
      path: q >= 0 ? rest.slice(0, q) : rest,
      protocol: h.protocol || 'HTTP/1.1',
      headers: (h.headers ?? []).map((x) => ({ key: x.key, value: x.value ?? '' })),
    };
    if (abs?.[1]) http.host = abs[1];
    if (h.code) http.code = Number(h.code);
    const header = (k: string) => h.headers?.find((x) => x.key.toLowerCase() === k)?.value;
    const grpc = /^\/([^/?#]+)\/([^/?#]+)$/.exec(http.path);
    if (grpc && /^application\/grpc([+;]|$)/i.test(header('content-type') ?? '')) {
      http.grpc = { service: grpc[1]!, method: grpc[2]! };
      const status = header('grpc-status');
      if (status !== undefined && /^\d{1,9}$/.test(status)) http.grpc.status = Number(status);
      const message = header('grpc-message');
      if (message) http.grpc.message = message;
      http.headers = http.headers!.filter((x) => !/^grpc-(status|message)$/i.test(x.key));
    }
    return http;
  },
};
