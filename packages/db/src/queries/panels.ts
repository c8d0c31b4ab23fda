/**
 * Dashboard panels beyond the request/latency series: DNS queries by rcode, Kafka requests by topic, TCP
 * retransmits / resets / failed connects, drops by reason (from the raw tables, time-binned) and top talkers
 * (from the edge rollups). Optionally restricted to one service on either side.
 */
import { dnsRcodeName } from '@sextant/shared';
import type pg from 'pg';
import { type Bin, timeBins } from './bins';
import { DROP_PROTOCOL, kindSql } from './edge-kinds';
import { Params } from './filter-sql';
import { rollupSource } from './rollup-source';

export interface PanelInput {
  since: number;
  until: number;
  /** Bin width in seconds; defaults to about 60 bins over the window (at least 10 s). */
  stepSeconds?: number;
  service?: string;
  namespace?: string;
}

export interface KeyedSeries {
  key: string;
  total: number;
  /**
   * One point per bin of the window. null: the panel has no records at all in that bin (nothing observed,
   * drawn as a gap); 0: records, but none of this key. `partial`: the bin is cut by the window or by now.
   */
  points: { time: number; value: number | null; partial: boolean }[];
}

export interface PanelSeries {
  stepSeconds: number;
  series: KeyedSeries[];
}

const NICE_STEPS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

export function panelStep(since: number, until: number, wanted?: number): number {
  const target = wanted ?? (until - since) / 1000 / 60;
  return NICE_STEPS.find((s) => s >= target) ?? 86400;
}

function serviceClause(input: PanelInput, p: Params, nsNullable: boolean): string {
  if (!input.service) return 'TRUE';
  const svc = p.add(input.service);
  const ns = p.add(input.namespace ?? '');
  const nsCol = (side: string) => (nsNullable ? `coalesce(${side}_namespace, '')` : `${side}_namespace`);
  return `((src_service = ${svc} AND ${nsCol('src')} = ${ns}) OR (dst_service = ${svc} AND ${nsCol('dst')} = ${ns}))`;
}

/** Groups rows of `table` in the window by time bin and `keyExpr`, summing `valueExpr`. */
async function binned(
  pool: pg.Pool,
  input: PanelInput,
  table: 'flows' | 'l7_events',
  where: string[],
  keyExpr: string,
  valueExpr: string,
  p: Params,
  maxKeys = 8,
): Promise<PanelSeries> {
  const step = panelStep(input.since, input.until, input.stepSeconds);
  const stepP = p.add(step);
  const origin = p.add(Math.floor(input.since / 1000 / step) * step);
  const sql = `
    SELECT (extract(epoch FROM date_bin(make_interval(secs => ${stepP}), time, to_timestamp(${origin}))) * 1000)::bigint AS t,
           ${keyExpr} AS k, sum(${valueExpr})::float8 AS v
      FROM ${table}
     WHERE time >= to_timestamp(${p.add(input.since / 1000)}) AND time < to_timestamp(${p.add(input.until / 1000)})
       AND ${serviceClause(input, p, true)} AND ${where.join(' AND ')}
     GROUP BY 1, 2 ORDER BY 1`;
  const rows = (await pool.query(sql, p.values)).rows as { t: string; k: string | null; v: number }[];
  const byKey = new Map<string, { key: string; total: number; values: Map<number, number> }>();
  for (const r of rows) {
    const key = r.k ?? '(none)';
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { key, total: 0, values: new Map() }));
    s.total += Number(r.v);
    s.values.set(Number(r.t), (s.values.get(Number(r.t)) ?? 0) + Number(r.v));
  }
  let series = [...byKey.values()].sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  if (series.length > maxKeys) {
    // Fold the long tail into "other" so a panel stays readable.
    const other = { key: 'other', total: 0, values: new Map<number, number>() };
    for (const s of series.slice(maxKeys - 1)) {
      other.total += s.total;
      for (const [t, v] of s.values) other.values.set(t, (other.values.get(t) ?? 0) + v);
    }
    series = [...series.slice(0, maxKeys - 1), other];
  }
  const bins = panelBins(input, step);
  const seen = new Set(rows.map((r) => Number(r.t)));
  return { stepSeconds: step, series: series.map((s) => ({ key: s.key, total: s.total, points: fill(bins, seen, s.values) })) };
}

/** Every bin of the panel's window (the raw tables are read over exactly [since, until)). */
function panelBins(input: PanelInput, step: number, now = Date.now()): Bin[] {
  return timeBins(Math.floor(input.since / 1000 / step) * step * 1000, input.until, step, input.since, Math.min(input.until, now));
}

/** A key's values on every bin: null where the panel saw nothing at all, 0 where only other keys had records. */
function fill(bins: Bin[], seen: Set<number>, values: Map<number, number>): KeyedSeries['points'] {
  return bins.map((b) => ({ time: b.time, value: seen.has(b.time) ? (values.get(b.time) ?? 0) : null, partial: b.partial }));
}

export async function dnsByRcode(pool: pg.Pool, input: PanelInput): Promise<PanelSeries> {
  const p = new Params();
  const res = await binned(pool, input, 'l7_events', [`protocol = 'dns'`, `type <> 'REQUEST'`], `dns_rcode::text`, '1', p);
  for (const s of res.series) if (/^\d+$/.test(s.key)) s.key = dnsRcodeName(Number(s.key));
  return res;
}

export async function kafkaByTopic(pool: pg.Pool, input: PanelInput): Promise<PanelSeries> {
  return binned(
    pool,
    input,
    'l7_events',
    [`protocol = 'kafka'`, `type <> 'REQUEST'`],
    `coalesce(kafka_topic, '(no topic)')`,
    '1',
    new Params(),
  );
}

/** Retransmits (segments), resets and failed connects (refused or timed out) of closed TCP connections. */
export async function tcpHealth(pool: pg.Pool, input: PanelInput): Promise<PanelSeries> {
  const p = new Params();
  const step = panelStep(input.since, input.until, input.stepSeconds);
  const stepP = p.add(step);
  const origin = p.add(Math.floor(input.since / 1000 / step) * step);
  const sql = `
    SELECT (extract(epoch FROM date_bin(make_interval(secs => ${stepP}), time, to_timestamp(${origin}))) * 1000)::bigint AS t,
           sum(retransmits)::float8 AS retransmits,
           count(*) FILTER (WHERE close_reason = 'RESET')::float8 AS resets,
           count(*) FILTER (WHERE close_reason IN ('REFUSED', 'TIMEOUT'))::float8 AS failed
      FROM flows
     WHERE time >= to_timestamp(${p.add(input.since / 1000)}) AND time < to_timestamp(${p.add(input.until / 1000)})
       AND l4_protocol = 'TCP' AND final AND ${serviceClause(input, p, true)}
     GROUP BY 1 ORDER BY 1`;
  const rows = (await pool.query(sql, p.values)).rows as { t: string; retransmits: number; resets: number; failed: number }[];
  const bins = panelBins(input, step);
  const seen = new Set(rows.map((r) => Number(r.t)));
  const mk = (key: string, col: 'retransmits' | 'resets' | 'failed'): KeyedSeries => {
    const values = new Map(rows.map((r) => [Number(r.t), Number(r[col])]));
    return { key, total: [...values.values()].reduce((a, b) => a + b, 0), points: fill(bins, seen, values) };
  };
  return { stepSeconds: step, series: [mk('retransmits', 'retransmits'), mk('resets', 'resets'), mk('failed connects', 'failed')] };
}

/**
 * Dropped packets by reason, counted as the map's rollups and hubble_drop_total count them: a drop record's
 * packets_sent (at least 1). A refused connect is one DROPPED record whose dropped packet is its SYN; the RST
 * it received (packets_received) is the refusal, not a second drop.
 */
export async function dropsByReason(pool: pg.Pool, input: PanelInput): Promise<PanelSeries> {
  return binned(
    pool,
    input,
    'flows',
    [`verdict = 'DROPPED'`],
    `coalesce(drop_reason, 'UNKNOWN')`,
    'greatest(packets_sent, 1)',
    new Params(),
  );
}

export interface Talker {
  source: string;
  destination: string;
  protocol: string;
  bytes: number;
  /** L7 requests (an http/dns/kafka row), 0 on a tcp/udp row. */
  requests: number;
  /** Connections (a tcp/udp row), 0 on an L7 row. */
  connections: number;
}

/** The (pair, protocol) edges that moved the most bytes in the window (rollups); drops move none. */
export async function topTalkers(pool: pg.Pool, input: PanelInput & { limit?: number }): Promise<Talker[]> {
  const p = new Params();
  const src = rollupSource(input.since, input.until, p);
  const k = kindSql(p);
  const sql = `
    SELECT src_namespace, src_service, dst_namespace, dst_service, protocol,
           sum(bytes_sent + bytes_received)::float8 AS bytes,
           coalesce(sum(requests) FILTER (WHERE ${k.isL7}), 0)::float8 AS requests,
           coalesce(sum(requests) FILTER (WHERE ${k.isConnection}), 0)::float8 AS connections
      FROM ${src.sql} r WHERE ${serviceClause(input, p, false)} AND protocol <> ${p.add(DROP_PROTOCOL)}
     GROUP BY 1, 2, 3, 4, 5 ORDER BY bytes DESC, requests DESC, connections DESC LIMIT ${p.add(input.limit ?? 10)}`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, string | number>[];
  const id = (ns: unknown, s: unknown) => (ns ? `${String(ns)}/${String(s)}` : String(s));
  return rows.map((r) => ({
    source: id(r.src_namespace, r.src_service),
    destination: id(r.dst_namespace, r.dst_service),
    protocol: String(r.protocol),
    bytes: Number(r.bytes),
    requests: Number(r.requests),
    connections: Number(r.connections),
  }));
}
