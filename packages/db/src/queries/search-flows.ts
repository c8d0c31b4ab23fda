/**
 * Flow search: L3/L4 flows and L7 events matching a Hubble-style filter in a time range, newest first,
 * with keyset pagination on (time, id). Each table is read through its (time DESC, id DESC) index or a
 * (column, time DESC) index and the two ordered streams are merged with the limit pushed into both sides.
 */
import type { FlowQueryFilter } from '@sextant/shared';
import type pg from 'pg';
import { FilterError, Params, queryClause, type EventTable } from './filter-sql';
import { type FlowRecord, recordFromRow, type Row } from './read-rows';

export type { FlowRecord } from './read-rows';

export interface SearchFlowsInput {
  filter: FlowQueryFilter;
  since: number;
  until: number;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface SearchFlowsResult {
  items: FlowRecord[];
  nextCursor: string | null;
}

interface Cursor {
  us: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.us}|${c.id}`).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  const [us, id] = Buffer.from(s, 'base64url').toString().split('|');
  if (!us || !id || !/^\d{1,19}$/.test(us) || !/^[0-9a-f-]{36}$/i.test(id)) throw new FilterError('invalid cursor', 'cursor');
  return { us, id };
}

const EPOCH_US = (param: string) => `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;

function sideSelect(table: EventTable, input: SearchFlowsInput, cursor: Cursor | undefined, p: Params): string {
  const id = table === 'flows' ? 'flow_id' : 'event_id';
  const page = input.limit + 1;
  // An allow list of several filters (e.g. either-side flags) is an OR no single index can serve in time
  // order: read one ordered, limited stream per filter and merge them instead of sorting every match.
  const { allow, deny } = input.filter;
  const queries = allow.length > 1 ? allow.map((f) => ({ allow: [f], deny })) : [input.filter];
  const subs = queries.map((q) => {
    const where = [
      `time >= ${EPOCH_US(p.add(Math.floor(input.since * 1000)))}`,
      `time < ${EPOCH_US(p.add(Math.ceil(input.until * 1000)))}`,
      queryClause(q, table, p),
    ];
    if (cursor) where.push(`(time, ${id}) < (${EPOCH_US(p.add(cursor.us))}, ${p.add(cursor.id)}::uuid)`);
    return `(SELECT '${table}' AS src_table, ${id} AS rid, (extract(epoch FROM time) * 1000000)::bigint AS t_us, * FROM ${table}
             WHERE ${where.join(' AND ')} ORDER BY time DESC, ${id} DESC LIMIT ${page})`;
  });
  if (subs.length === 1) return subs[0] as string;
  return `(SELECT DISTINCT ON (t_us, rid) * FROM (${subs.join(' UNION ALL ')}) u ORDER BY t_us DESC, rid DESC LIMIT ${page})`;
}

export async function searchFlows(pool: pg.Pool, input: SearchFlowsInput): Promise<SearchFlowsResult> {
  const cursor = input.cursor ? decodeCursor(input.cursor) : undefined;
  const p = new Params();
  // The two tables have different columns: select each into a JSON row so they can be merged by time.
  const sql = `
    SELECT src_table, rid, t_us, row FROM (
      SELECT src_table, rid, t_us, to_jsonb(f) AS row FROM ${sideSelect('flows', input, cursor, p)} f
      UNION ALL
      SELECT src_table, rid, t_us, to_jsonb(l) AS row FROM ${sideSelect('l7_events', input, cursor, p)} l
    ) m ORDER BY t_us DESC, rid DESC LIMIT ${input.limit + 1}`;
  let rows: { src_table: EventTable; rid: string; t_us: number | string; row: Row }[];
  try {
    rows = (await pool.query(sql, p.values)).rows;
  } catch (err) {
    // An expression PostgreSQL's regex engine rejects is the user's input error, not a server fault.
    if ((err as { code?: string }).code === '2201B')
      throw new FilterError(`invalid regular expression: ${(err as Error).message}`, 'httpPath');
    throw err;
  }
  const page = rows.slice(0, input.limit);
  const items = page.map((r) => recordFromRow(r.src_table, r.t_us, r.row));
  const last = page[page.length - 1];
  const nextCursor = rows.length > input.limit && last ? encodeCursor({ us: String(last.t_us), id: last.rid }) : null;
  return { items, nextCursor };
}
