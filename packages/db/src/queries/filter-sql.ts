/**
 * Compiles the Hubble-style filter model into parameterised SQL WHERE clauses for the flows and l7_events
 * tables. Values only ever travel as bind parameters; identifiers come from the constant maps below.
 * Fields that cannot apply to a table make the filter match nothing there (an L7-only filter never
 * matches an L3/L4 flow), which is Hubble's behaviour.
 */
import net from 'node:net';
import type { FlowFilter, FlowQueryFilter } from '@sextant/shared';
import { L7_PROTOCOLS, l7ProtocolsOver, TCP_FLAGS } from '@sextant/shared';

export type EventTable = 'flows' | 'l7_events';

export class FilterError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

/** Collects bind parameters and hands out their $n placeholders. */
export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

type Side = 'src' | 'dst';
const TRUE = 'TRUE';
const FALSE = 'FALSE';

function ipClause(col: string, values: string[], p: Params, path: string): string {
  const parts = values.map((v) => {
    const [addr, bits, extra] = v.split('/');
    if (extra !== undefined || !addr || net.isIP(addr) === 0) throw new FilterError(`not an IP address or CIDR: ${v}`, path);
    if (bits === undefined) return `${col} = ${p.add(addr)}::inet`;
    const max = net.isIPv4(addr) ? 32 : 128;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) throw new FilterError(`bad prefix length in ${v}`, path);
    // inet, not cidr: a prefix with host bits set ("10.1.2.3/8") means its network, as in hubble
    return `${col} <<= ${p.add(v)}::inet`;
  });
  return `(${parts.join(' OR ')})`;
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function fqdnClause(col: string, values: string[], p: Params): string {
  const parts = values.map((v) => {
    const name = v.replace(/\.$/, '');
    if (name.startsWith('*.')) {
      return `EXISTS (SELECT 1 FROM unnest(${col}) n WHERE n LIKE ${p.add(`%${likeEscape(name.slice(1))}`)})`;
    }
    return `${p.add(name)} = ANY(${col})`;
  });
  return `(${parts.join(' OR ')})`;
}

function labelClause(extraCol: string, values: string[], p: Params): string {
  const parts = values.map((v) =>
    v.includes('=')
      ? `coalesce(${extraCol}->'labels', '[]'::jsonb) ? ${p.add(v)}`
      : `EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(${extraCol}->'labels', '[]'::jsonb)) l WHERE l = ${p.add(v)} OR l LIKE ${p.add(`${likeEscape(v)}=%`)})`,
  );
  return `(${parts.join(' OR ')})`;
}

function podClause(side: Side, values: string[], p: Params): string {
  const parts = values.map((v) => {
    const slash = v.indexOf('/');
    if (slash < 0) return `${side}_pod = ${p.add(v)}`;
    return `(${side}_namespace = ${p.add(v.slice(0, slash))} AND ${side}_pod = ${p.add(v.slice(slash + 1))})`;
  });
  return `(${parts.join(' OR ')})`;
}

function anyOf(col: string, values: readonly unknown[], p: Params, cast = 'text'): string {
  // A single value as plain equality: the planner can then walk a (col, time DESC, id DESC) index in
  // order and stop after one page, which it does not do for `= ANY(array)`.
  if (values.length === 1) return `${col} = ${p.add(values[0])}::${cast}`;
  return `${col} = ANY(${p.add(values)}::${cast}[])`;
}

function statusClause(values: string[], p: Params): string {
  const parts = values.map((v) => {
    if (!v.endsWith('+')) return `http_code = ${p.add(Number(v))}`;
    const prefix = v.slice(0, -1);
    const width = 10 ** (3 - prefix.length);
    const lo = Number(prefix) * width;
    return `(http_code >= ${p.add(lo)} AND http_code < ${p.add(lo + width)})`;
  });
  return `(${parts.join(' OR ')})`;
}

/** gRPC calls (HTTP/2 details in l7_events.detail): "<service>/<method>" one method, "<service>" all of them. */
function grpcMethodClause(values: string[], p: Params): string {
  const methods = values.filter((v) => v.includes('/'));
  const services = values.filter((v) => !v.includes('/'));
  const parts = [
    ...(methods.length ? [anyOf(`((detail->'grpc'->>'service') || '/' || (detail->'grpc'->>'method'))`, methods, p)] : []),
    ...(services.length ? [anyOf(`(detail->'grpc'->>'service')`, services, p)] : []),
  ];
  return `(protocol = 'http' AND (${parts.join(' OR ')}))`;
}

function regexClause(expr: string, values: string[], p: Params, path: string): string {
  for (const v of values) {
    try {
      new RegExp(v);
    } catch {
      throw new FilterError(`invalid regular expression: ${v}`, path);
    }
  }
  return `(${values.map((v) => `${expr} ~ ${p.add(v)}`).join(' OR ')})`;
}

function sideClauses(f: FlowFilter, side: Side, p: Params, path: string): string[] {
  const pre = side === 'src' ? 'source' : 'destination';
  const get = (k: string) => (f as Record<string, string[] | undefined>)[`${pre}${k}`];
  const out: string[] = [];
  const ip = get('Ip');
  if (ip?.length) out.push(ipClause(`${side}_ip`, ip, p, `${path}.${pre}Ip`));
  const pod = get('Pod');
  if (pod?.length) out.push(podClause(side, pod, p));
  const service = get('Service');
  if (service?.length) out.push(anyOf(`${side}_service`, service, p));
  const ns = get('Namespace');
  if (ns?.length) out.push(anyOf(`${side}_namespace`, ns, p));
  const fqdn = get('Fqdn');
  if (fqdn?.length) out.push(fqdnClause(`${side}_names`, fqdn, p));
  const label = get('Label');
  if (label?.length) out.push(labelClause(`${side}_extra`, label, p));
  const workload = get('Workload');
  if (workload?.length)
    out.push(
      `(${workload.map((w) => `coalesce(${side}_extra->'workloads', '[]'::jsonb) @> jsonb_build_array(jsonb_build_object('name', ${p.add(w)}::text))`).join(' OR ')})`,
    );
  const proc = get('Process');
  if (proc?.length) out.push(anyOf(`${side}_process`, proc, p));
  const port = get('Port');
  if (port?.length) out.push(anyOf(`${side}_port`, port.map(Number), p, 'int'));
  return out;
}

/** SQL for one FlowFilter against one table: fields AND-ed, values of a field OR-ed. */
export function filterClause(f: FlowFilter, table: EventTable, p: Params, path = 'filter'): string {
  const l7 = table === 'l7_events';
  const out: string[] = [...sideClauses(f, 'src', p, path), ...sideClauses(f, 'dst', p, path)];
  if (f.nodeName?.length) out.push(anyOf('node_name', f.nodeName, p));
  if (f.flowId?.length) out.push(anyOf('flow_id', f.flowId, p, 'uuid'));
  if (f.eventType?.length && !f.eventType.includes(l7 ? 'L7' : 'L3_L4')) out.push(FALSE);
  if (f.verdict?.length) out.push(l7 ? (f.verdict.includes('FORWARDED') ? TRUE : FALSE) : anyOf('verdict', f.verdict, p));
  if (f.trafficDirection?.length) out.push(l7 ? FALSE : anyOf('traffic_direction', f.trafficDirection, p));
  if (f.reply !== undefined) out.push(l7 ? (f.reply ? FALSE : TRUE) : `is_reply = ${p.add(f.reply)}`);
  if (f.ipVersion?.length) out.push(l7 ? anyOf('family(src_ip)', f.ipVersion, p, 'int') : anyOf('ip_version', f.ipVersion, p, 'int'));
  if (f.tcpFlags?.length) {
    const mask = f.tcpFlags.reduce((m, flag) => m | (1 << TCP_FLAGS.indexOf(flag)), 0);
    out.push(l7 ? FALSE : `(tcp_flags & ${p.add(mask)}::smallint) <> 0`);
  }
  if (f.protocol?.length) {
    const wanted = new Set(f.protocol.map((x) => x.toLowerCase()));
    if (l7) {
      const parts: string[] = [];
      const l7protos = L7_PROTOCOLS.filter((x) => wanted.has(x));
      if (l7protos.length) parts.push(anyOf('protocol', l7protos, p));
      // Exchanges over a transport: protocols that only run over it, and those that may, by their detail.
      for (const transport of ['tcp', 'udp'] as const) {
        if (!wanted.has(transport)) continue;
        const { only, among } = l7ProtocolsOver(transport);
        const detail = transport === 'udp' ? `coalesce(detail->>'transport', 'udp')` : `detail->>'transport'`;
        const alts = [
          ...(only.length ? [anyOf('protocol', only, p)] : []),
          ...(among.length ? [`(${anyOf('protocol', among, p)} AND ${detail} = ${p.add(transport)}::text)`] : []),
        ];
        parts.push(alts.length ? `(${alts.join(' OR ')})` : FALSE);
      }
      out.push(parts.length ? `(${parts.join(' OR ')})` : FALSE);
    } else {
      const l4 = ['TCP', 'UDP', 'ICMPv4', 'ICMPv6'].filter((x) => wanted.has(x.toLowerCase()));
      out.push(l4.length ? anyOf('l4_protocol', l4, p) : FALSE);
    }
  }
  const l7Only: [keyof FlowFilter, () => string][] = [
    ['httpStatusCode', () => statusClause(f.httpStatusCode ?? [], p)],
    [
      'httpMethod',
      () =>
        anyOf(
          'upper(http_method)',
          (f.httpMethod ?? []).map((m) => m.toUpperCase()),
          p,
        ),
    ],
    ['httpPath', () => regexClause('http_path', f.httpPath ?? [], p, `${path}.httpPath`)],
    ['dnsQuery', () => regexClause(`rtrim(dns_query, '.')`, f.dnsQuery ?? [], p, `${path}.dnsQuery`)],
    ['kafkaTopic', () => anyOf('kafka_topic', f.kafkaTopic ?? [], p)],
    ['grpcMethod', () => grpcMethodClause(f.grpcMethod ?? [], p)],
    ['grpcStatus', () => `(protocol = 'http' AND ${anyOf(`(detail->'grpc'->>'status')`, f.grpcStatus ?? [], p)})`],
  ];
  for (const [key, clause] of l7Only) {
    if ((f[key] as unknown[] | undefined)?.length) out.push(l7 ? clause() : FALSE);
  }
  return out.length ? `(${out.join(' AND ')})` : TRUE;
}

/** Allow list OR-ed (empty = everything), deny list subtracted. */
export function queryClause(q: FlowQueryFilter, table: EventTable, p: Params): string {
  const allow = q.allow.length ? `(${q.allow.map((f, i) => filterClause(f, table, p, `allow.${i}`)).join(' OR ')})` : TRUE;
  if (!q.deny.length) return allow;
  const deny = q.deny.map((f, i) => `coalesce(${filterClause(f, table, p, `deny.${i}`)}, FALSE)`).join(' OR ');
  return `(${allow} AND NOT (${deny}))`;
}
