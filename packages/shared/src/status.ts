/**
 * The one status vocabulary: what class an L7 exchange or a connection falls in, and which classes are
 * errors. Rollups, map colours, the flow table and drawer, the CLI, metrics and exports all read these.
 * Per-protocol rules live in the L7 protocol registry (l7-protocols.ts).
 */
import type { Flow, L7Event } from './flow';
import { L7_PROTOCOL_REGISTRY } from './l7-protocols';

export { grpcStatusClass, httpStatusClass } from './l7-protocols';

export const STATUS_CLASSES = ['ok', '1xx', '2xx', '3xx', '4xx', '5xx', 'nxdomain', 'error', 'none'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** The class of an L7 exchange, by its protocol's rule. */
export function l7StatusClass(e: L7Event): StatusClass {
  return L7_PROTOCOL_REGISTRY[e.protocol].statusClass(e);
}

/**
 * Errors: HTTP 5xx, DNS failures other than NXDOMAIN, Kafka error codes, failed or broken connections. gRPC
 * calls take the class of the HTTP status gRPC maps their grpc-status to (`grpcStatusClass`: UNKNOWN,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS are 5xx; the caller's own mistakes 4xx);
 * an HTTP/2 stream reset with an error code other than NO_ERROR or CANCEL is an error.
 */
export function isErrorClass(c: StatusClass): boolean {
  return c === '5xx' || c === 'error';
}

/** How a class is shown: errors red, NXDOMAIN (an answer, often a misconfiguration) amber, the rest plain. */
export function statusTone(c: StatusClass): 'bad' | 'warn' | 'ok' {
  if (isErrorClass(c)) return 'bad';
  return c === 'nxdomain' ? 'warn' : 'ok';
}

/**
 * The connection-level outcome. Dropped and errored records, refused and timed-out connects, and
 * connections the server reset are errors. A client that resets its own connection after use
 * (CLIENT_RESET: browsers and pools closing idle keep-alive connections do) is not.
 */
export function flowStatusClass(f: Pick<Flow, 'verdict' | 'closeReason'>): StatusClass {
  if (f.verdict === 'DROPPED' || f.verdict === 'ERROR') return 'error';
  if (f.closeReason === 'REFUSED' || f.closeReason === 'RESET' || f.closeReason === 'TIMEOUT') return 'error';
  return 'ok';
}

/** The exchange in one line (flow table, drawer, CLI). */
export function l7Summary(e: L7Event): string {
  return L7_PROTOCOL_REGISTRY[e.protocol].summary(e);
}
