/**
 * What one count of an edge rollup row is, by its protocol: an L7 exchange (http, dns, kafka: a request),
 * a connection (tcp, udp: L4 records, one per connection) or a dropped packet (drop). Readers never add one
 * kind to another: requests, errors and latency come from L7 rows; connection health (connections, failed
 * ones, retransmits) is its own signal. Which status classes count as errors comes from packages/shared
 * (`isErrorClass`), passed to SQL as a parameter so the definition lives in one place.
 */
import { isErrorClass, L7_PROTOCOLS, STATUS_CLASSES } from '@sextant/shared';
import type { Params } from './filter-sql';

export type EdgeKind = 'requests' | 'connections' | 'drops';

export const CONNECTION_PROTOCOLS = ['tcp', 'udp'] as const;
export const DROP_PROTOCOL = 'drop';

export function edgeKind(protocol: string): EdgeKind {
  if (protocol === DROP_PROTOCOL) return 'drops';
  return (CONNECTION_PROTOCOLS as readonly string[]).includes(protocol) ? 'connections' : 'requests';
}

/** Sort rank of a kind on a pair: L7 first, then connections, then drops. */
export const KIND_RANK: Record<EdgeKind, number> = { requests: 0, connections: 1, drops: 2 };

export const ERROR_CLASSES: string[] = STATUS_CLASSES.filter((c) => isErrorClass(c));

/**
 * SQL fragments over an edge rollup row (columns protocol, status_class). Each adds its parameter to `p` on
 * first use only (PostgreSQL cannot type a parameter the statement never uses).
 */
export function kindSql(p: Params) {
  const once = (value: string[], sql: (param: string) => string) => {
    let text: string | undefined;
    return () => (text ??= sql(p.add(value)));
  };
  const l7 = once([...L7_PROTOCOLS], (x) => `protocol = ANY(${x}::text[])`);
  const conn = once([...CONNECTION_PROTOCOLS], (x) => `protocol = ANY(${x}::text[])`);
  const errs = once(ERROR_CLASSES, (x) => `status_class = ANY(${x}::text[])`);
  return {
    get isL7() {
      return l7();
    },
    get isConnection() {
      return conn();
    },
    get isError() {
      return errs();
    },
  };
}
