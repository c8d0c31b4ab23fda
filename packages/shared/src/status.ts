/** Status classes used by rollups and dashboards: one vocabulary for HTTP, DNS, Kafka and L4 outcomes. */
import type { Flow, L7Event } from './flow';

export const STATUS_CLASSES = ['ok', '1xx', '2xx', '3xx', '4xx', '5xx', 'error', 'none'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export function httpStatusClass(code: number | undefined): StatusClass {
  if (code === undefined || code === 0) return 'none';
  const c = Math.floor(code / 100);
  return c >= 1 && c <= 5 ? (`${c}xx` as StatusClass) : 'error';
}

/** Whether an L7 exchange counts as an error on the service map (HTTP 5xx, DNS failures, Kafka errors). */
export function l7StatusClass(e: L7Event): StatusClass {
  switch (e.protocol) {
    case 'http':
      return httpStatusClass(e.http?.code);
    case 'dns': {
      const rcode = e.dns?.rcode;
      if (rcode === undefined) return 'none';
      // NXDOMAIN (3) is an answer, not a server failure; SERVFAIL (2), REFUSED (5) etc. are errors.
      return rcode === 0 || rcode === 3 ? 'ok' : 'error';
    }
    case 'kafka': {
      const code = e.kafka?.errorCode;
      if (code === undefined) return 'none';
      return code === 0 ? 'ok' : 'error';
    }
  }
}

export function isErrorClass(c: StatusClass): boolean {
  return c === '5xx' || c === 'error';
}

/** L4 outcome of a connection: refused, reset, timed out and dropped connections are errors. */
export function flowStatusClass(f: Flow): StatusClass {
  if (f.verdict === 'DROPPED' || f.verdict === 'ERROR') return 'error';
  if (f.closeReason === 'REFUSED' || f.closeReason === 'RESET' || f.closeReason === 'TIMEOUT') return 'error';
  return 'ok';
}
