/**
 * The pure filter matcher: the same Hubble `observe` semantics as the SQL compiler in packages/db, for
 * records in memory. Today its users are the oracle that the SQL compiler is tested against
 * (packages/api queries.test.ts: every filter must select the rows `matchesQuery` selects), `ipMatches` in
 * packages/bpf (which local address is on a peer's link) and `validateQueryFilter` in the CLI before it
 * sends a filter; searches and the live tail filter in SQL, not here. Within a FlowFilter fields AND and
 * the values of one field OR; a record passes when it matches any allow filter (or there are none) and no
 * deny filter. Fields that cannot apply to a record (an HTTP status for an L3/L4 flow) make that filter not
 * match.
 */
import type { Endpoint, Flow, L7Event } from './flow';
import { TCP_FLAGS } from './flow';
import type { FlowFilter, FlowQueryFilter } from './filter';

// Address syntax checks without Node's net module, so this file also runs in the browser.
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const net = {
  isIPv4: (s: string) => IPV4.test(s),
  isIPv6: (s: string) => s.includes(':') && /^[0-9a-fA-F:]+$/.test(s) && s.split('::').length <= 2 && s.split(':').length <= 8,
  isIP: (s: string) => (IPV4.test(s) ? 4 : s.includes(':') && /^[0-9a-fA-F:]+$/.test(s) && s.split('::').length <= 2 ? 6 : 0),
};

export type FilterRecord = { kind: 'flow'; flow: Flow } | { kind: 'l7'; event: L7Event };

function ipToBigInt(ip: string): bigint | null {
  if (net.isIPv4(ip)) return ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
  if (!net.isIPv6(ip)) return null;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** Exact address or CIDR (IPv4 or IPv6). */
export function ipMatches(ip: string, pattern: string): boolean {
  const [addr = '', bits] = pattern.split('/');
  if (bits === undefined) return ip === addr;
  const v4 = net.isIPv4(addr);
  if (v4 !== net.isIPv4(ip)) return false;
  const width = v4 ? 32n : 128n;
  const a = ipToBigInt(ip);
  const b = ipToBigInt(addr);
  if (a === null || b === null) return false;
  const shift = width - BigInt(Number(bits));
  return a >> shift === b >> shift;
}

function fqdnMatches(names: string[] | undefined, pattern: string): boolean {
  const p = pattern.replace(/\.$/, '');
  return (names ?? []).some((n) => (p.startsWith('*.') ? n.endsWith(p.slice(1)) : n === p));
}

function labelMatches(labels: string[] | undefined, pattern: string): boolean {
  return (labels ?? []).some((l) => (pattern.includes('=') ? l === pattern : l === pattern || l.startsWith(`${pattern}=`)));
}

function podMatches(e: Endpoint, pattern: string): boolean {
  const slash = pattern.indexOf('/');
  if (slash < 0) return e.podName === pattern;
  return e.namespace === pattern.slice(0, slash) && e.podName === pattern.slice(slash + 1);
}

const any = <T>(values: T[] | undefined, test: (v: T) => boolean): boolean =>
  values === undefined || values.length === 0 || values.some(test);

function sideMatches(f: FlowFilter, side: 'source' | 'destination', e: Endpoint): boolean {
  const get = (k: string) => (f as Record<string, string[] | undefined>)[`${side}${k}`];
  return (
    any(get('Ip'), (p) => ipMatches(e.ip, p)) &&
    any(get('Pod'), (p) => podMatches(e, p)) &&
    any(get('Service'), (s) => e.service === s) &&
    any(get('Namespace'), (n) => e.namespace === n) &&
    any(get('Fqdn'), (p) => fqdnMatches(e.names, p)) &&
    any(get('Label'), (p) => labelMatches(e.labels, p)) &&
    any(get('Workload'), (w) => (e.workloads ?? []).some((x) => x.name === w)) &&
    any(get('Process'), (p) => e.process?.name === p) &&
    any(get('Port'), (p) => e.port === Number(p))
  );
}

function statusMatches(code: number | undefined, pattern: string): boolean {
  if (code === undefined) return false;
  if (!pattern.endsWith('+')) return code === Number(pattern);
  // "5+" is 500–599 and "50+" is 500–509, numerically like the SQL compiler (not a string prefix: 5 is not 5xx).
  const prefix = pattern.slice(0, -1);
  const width = 10 ** (3 - prefix.length);
  const lo = Number(prefix) * width;
  return code >= lo && code < lo + width;
}

function regexTest(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return false;
  }
}

/** "<service>/<method>" names one method, "<service>" all of its methods (as filter-sql.ts). */
function grpcMethodMatches(g: { service: string; method: string } | undefined, value: string): boolean {
  if (!g) return false;
  return value.includes('/') ? `${g.service}/${g.method}` === value : g.service === value;
}

const hasAny = (v: unknown[] | undefined) => v !== undefined && v.length > 0;

export function matchFlow(flow: Flow, f: FlowFilter): boolean {
  // L7-only fields never match an L3/L4 flow.
  if (hasAny(f.httpStatusCode) || hasAny(f.httpMethod) || hasAny(f.httpPath) || hasAny(f.dnsQuery) || hasAny(f.kafkaTopic)) return false;
  if (hasAny(f.grpcMethod) || hasAny(f.grpcStatus)) return false;
  return (
    sideMatches(f, 'source', flow.source) &&
    sideMatches(f, 'destination', flow.destination) &&
    any(f.nodeName, (n) => flow.nodeName === n) &&
    any(f.flowId, (id) => flow.id === id) &&
    any(f.eventType, (t) => t === 'L3_L4') &&
    any(f.verdict, (v) => flow.verdict === v) &&
    any(f.trafficDirection, (d) => flow.trafficDirection === d) &&
    (f.reply === undefined || flow.isReply === f.reply) &&
    any(f.ipVersion, (v) => flow.ipVersion === v) &&
    any(f.tcpFlags, (t) => flow.tcpFlags.includes(t) && (TCP_FLAGS as readonly string[]).includes(t)) &&
    any(f.protocol, (p) => p.toLowerCase() === flow.l4Protocol.toLowerCase())
  );
}

export function matchL7(e: L7Event, f: FlowFilter): boolean {
  if (hasAny(f.trafficDirection) || hasAny(f.tcpFlags) || f.reply === true) return false;
  const transport = e.protocol === 'dns' ? (e.dns?.transport ?? 'udp') : 'tcp';
  return (
    sideMatches(f, 'source', e.source) &&
    sideMatches(f, 'destination', e.destination) &&
    any(f.nodeName, (n) => e.nodeName === n) &&
    any(f.flowId, (id) => e.flowId === id) &&
    any(f.eventType, (t) => t === 'L7') &&
    any(f.verdict, (v) => v === 'FORWARDED') &&
    any(f.ipVersion, (v) => (e.source.ip.includes(':') ? 6 : 4) === v) &&
    any(f.protocol, (p) => p.toLowerCase() === e.protocol || p.toLowerCase() === transport) &&
    any(f.httpStatusCode, (s) => statusMatches(e.http?.code, s)) &&
    any(f.httpMethod, (m) => e.http?.method.toUpperCase() === m.toUpperCase()) &&
    any(f.httpPath, (p) => regexTest(p, e.http?.path)) &&
    any(f.dnsQuery, (p) => regexTest(p, e.dns?.query.replace(/\.$/, ''))) &&
    any(f.kafkaTopic, (t) => e.kafka?.topic === t) &&
    any(f.grpcMethod, (m) => grpcMethodMatches(e.http?.grpc, m)) &&
    any(f.grpcStatus, (st) => e.http?.grpc?.status !== undefined && e.http.grpc.status === Number(st))
  );
}

function matchOne(r: FilterRecord, f: FlowFilter): boolean {
  return r.kind === 'flow' ? matchFlow(r.flow, f) : matchL7(r.event, f);
}

export function matchesQuery(r: FilterRecord, q: FlowQueryFilter): boolean {
  if (q.allow.length && !q.allow.some((f) => matchOne(r, f))) return false;
  return !q.deny.some((f) => matchOne(r, f));
}

/** Problems that make a query unusable (invalid regular expressions, CIDRs), with their paths. */
export function validateQueryFilter(q: FlowQueryFilter): string[] {
  const problems: string[] = [];
  const check = (list: FlowFilter[], name: string) =>
    list.forEach((f, i) => {
      for (const key of ['httpPath', 'dnsQuery'] as const) {
        for (const p of f[key] ?? []) {
          try {
            new RegExp(p);
          } catch {
            problems.push(`${name}.${i}.${key}: invalid regular expression ${p}`);
          }
        }
      }
      for (const key of ['sourceIp', 'destinationIp'] as const) {
        for (const p of f[key] ?? []) {
          const [addr = '', bits] = p.split('/');
          const max = net.isIPv4(addr) ? 32 : 128;
          if (!net.isIP(addr) || (bits !== undefined && !(Number(bits) >= 0 && Number(bits) <= max)))
            problems.push(`${name}.${i}.${key}: not an IP or CIDR: ${p}`);
        }
      }
    });
  check(q.allow, 'allow');
  check(q.deny, 'deny');
  return problems;
}
