/**
 * One HTTP/2 stream of the engine's HTTP/2 connections (http2.ts): what its header blocks said, and the
 * exchange it becomes (`http.protocol` 'HTTP/2', gRPC names and status when it is a gRPC call).
 */
import { decodeGrpcMessage, grpcNames, isGrpcContentType, parseGrpcStatus } from './grpc';
import type { HeaderField } from './hpack';
import { templatePath } from './http-path';
import { redactHeaderValue, type QueryRedactor } from './redact';
import type { HttpDetails, L7Exchange } from './types';

/** RFC 9113 §7 error codes, by value. */
export const H2_ERRORS = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];
export function h2ErrorName(code: number): string {
  return H2_ERRORS[code] ?? `0x${code.toString(16)}`;
}

export type NotDecodable = 'truncated' | 'table-lost';

const MAX_HEADERS = 64;

export interface H2Stream {
  id: number;
  requestTs: bigint;
  /** The request was in bytes the capture missed: requestTs is the response's time, latency unknown. */
  requestUnseen?: boolean;
  method?: string;
  path?: string;
  authority?: string;
  grpc: boolean;
  headers: { key: string; value: string }[];
  requestBytes: number;
  responseTs?: bigint;
  status?: number;
  responseBytes: number;
  grpcStatus?: number;
  grpcMessage?: string;
  reset?: string;
  notDecodable?: NotDecodable;
}

/** Header text as UTF-8 (HPACK strings are octets, decoded one char per octet). */
function utf8(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

function keep(s: H2Stream, name: string, value: string, keepHeaders: ReadonlySet<string>): void {
  if (keepHeaders.has(name) && s.headers.length < MAX_HEADERS)
    s.headers.push({ key: name.slice(0, 256), value: redactHeaderValue(name, utf8(value)).slice(0, 8192) });
}

/** The request's header block: pseudo-headers, gRPC content type, kept headers. */
export function applyRequestHeaders(s: H2Stream, fields: HeaderField[], keepHeaders: ReadonlySet<string>): void {
  for (const [name, value] of fields) {
    if (name === ':method') s.method ??= value;
    else if (name === ':path') s.path ??= utf8(value);
    else if (name === ':authority') s.authority ??= utf8(value);
    else if (name === 'host') s.authority ??= utf8(value);
    else if (name === 'content-type' && isGrpcContentType(value)) s.grpc = true;
    if (name[0] !== ':') keep(s, name, value, keepHeaders);
  }
}

/** A response header block (first: :status; later: trailers); returns false for an interim (1xx) block. */
export function applyResponseHeaders(s: H2Stream, fields: HeaderField[], keepHeaders: ReadonlySet<string>, ts: bigint): boolean {
  if (s.responseTs === undefined) {
    const status = fields.find(([n]) => n === ':status')?.[1];
    const code = status !== undefined && /^\d{3}$/.test(status) ? Number(status) : undefined;
    if (code !== undefined && code >= 100 && code < 200) return false;
    s.responseTs = ts;
    s.status = code;
  }
  for (const [name, value] of fields) {
    if (name === 'grpc-status') s.grpcStatus = parseGrpcStatus(value);
    else if (name === 'grpc-message') s.grpcMessage = decodeGrpcMessage(utf8(value));
    if (name[0] !== ':') keep(s, name, value, keepHeaders);
  }
  return true;
}

export function streamExchange(s: H2Stream, connId: bigint, role: 'client' | 'server', redactor: QueryRedactor): L7Exchange {
  const target = s.path ?? '';
  const q = target.search(/[?#]/);
  const path = q >= 0 ? target.slice(0, q) : target;
  const http: HttpDetails = {
    method: (s.method ?? '').slice(0, 32),
    url: redactor.redactTarget(target).slice(0, 8192),
    path: path.slice(0, 8192),
    protocol: 'HTTP/2',
    headers: s.headers,
    streamId: s.id,
  };
  if (s.path !== undefined) http.pathTemplate = templatePath(path);
  if (s.authority) http.host = s.authority.slice(0, 253);
  if (s.status !== undefined) http.code = s.status;
  if (s.requestBytes > 0) http.requestBytes = s.requestBytes;
  if (s.responseTs !== undefined) http.responseBytes = s.responseBytes;
  if (s.reset) http.reset = s.reset;
  if (s.notDecodable) http.notDecodable = s.notDecodable;
  const names = s.grpc ? grpcNames(path) : null;
  if (names) {
    http.grpc = { service: names.service.slice(0, 512), method: names.method.slice(0, 256) };
    if (s.grpcStatus !== undefined) http.grpc.status = s.grpcStatus;
    if (s.grpcMessage) http.grpc.message = s.grpcMessage.slice(0, 1024);
  }
  const ex: L7Exchange = { connId, protocol: 'http', role, requestTimeNs: s.requestTs, http };
  if (s.responseTs !== undefined) {
    ex.responseTimeNs = s.responseTs;
    if (s.responseTs >= s.requestTs && !s.requestUnseen) ex.latencyNs = s.responseTs - s.requestTs;
  }
  return ex;
}
