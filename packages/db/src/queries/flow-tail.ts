/**
 * The live tail's reads. A subscription has two phases, and its cursor (also the SSE event id, so a
 * reconnecting client resumes exactly after the last record it received) says which one it is in:
 *
 * - history `h|<liveFrom>|<time µs>|<record id>|<seq>`: records already stored when the subscription
 *   started (ingest_xid < liveFrom) whose time is after `since`, oldest first by (time, id, seq).
 * - live `l|<xid>|<seq>`: every record stored from then on, whatever its time, in ingest order:
 *   (ingest_xid, ingest_seq) = (the storing transaction, insertion number), batch by batch and within a
 *   batch in the order it was copied (its flows, then its L7 events).
 *
 * Why ingest order and not record time: collectors ship late, so a batch may commit with times older than
 * records already delivered. A time cursor either skips it or has to re-read a lookback window (which,
 * at 40 records/s and a 500-row page, re-read the same rows forever and delivered nothing). A transaction
 * id cursor needs one guard: ids are assigned when a batch starts, not when it commits, so the tail only
 * reads rows of transactions below the statement snapshot's xmin — all of those have ended, so nothing
 * can later appear behind the cursor. A page shorter than its limit means every row below xmin was
 * looked at, so the cursor moves up to xmin even when the filter matched nothing: a poll never re-scans.
 * The cost: the tail lags behind the oldest running writing transaction (an ingest batch: milliseconds).
 */
import type { FlowQueryFilter } from '@sextant/shared';
import type pg from 'pg';
import { fencedXmin } from '../citus/commit-fence';
import { FilterError, Params, queryClause, type EventTable } from './filter-sql';
import { type FlowRecord, recordFromRow, type Row } from './read-rows';

export type TailCursor =
  { phase: 'history'; liveFrom: string; tUs: string; id: string; seq: string } | { phase: 'live'; xid: string; seq: string };

export interface TailPage {
  items: { eventId: string; record: FlowRecord }[];
  /** Where the next read starts (past everything examined, also when nothing matched). */
  next: TailCursor;
  /** The page was cut at the limit: read again at once. */
  full: boolean;
}

const DIGITS = /^\d{1,20}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const TAIL_EVENT_ID = /^(?:l\|\d{1,20}\|\d{1,19}|h\|\d{1,20}\|\d{1,19}\|[0-9a-f-]{36}\|\d{1,19})$/i;

export function cursorToEventId(c: TailCursor): string {
  return c.phase === 'live' ? `l|${c.xid}|${c.seq}` : `h|${c.liveFrom}|${c.tUs}|${c.id}|${c.seq}`;
}

/** xid8 is unsigned 64-bit; the sequence and microsecond times are bigint. */
const XID_MAX = 2n ** 64n - 1n;
const INT8_MAX = 2n ** 63n - 1n;

export function cursorFromEventId(s: string): TailCursor {
  const p = s.split('|');
  const ok = (v: string | undefined, max = INT8_MAX): v is string => v !== undefined && DIGITS.test(v) && BigInt(v) <= max;
  if (p[0] === 'l' && p.length === 3 && ok(p[1], XID_MAX) && ok(p[2])) return { phase: 'live', xid: p[1], seq: p[2] };
  if (p[0] === 'h' && p.length === 5 && ok(p[1], XID_MAX) && ok(p[2]) && UUID.test(p[3] ?? '') && ok(p[4])) {
    return { phase: 'history', liveFrom: p[1], tUs: p[2], id: p[3] as string, seq: p[4] };
  }
  throw new FilterError('invalid tail position', 'lastEventId');
}

/** Whether a client's Last-Event-ID is a tail position this server could have issued (numbers in range). */
export function isTailEventId(s: string): boolean {
  try {
    cursorFromEventId(s);
    return true;
  } catch {
    return false;
  }
}

/** Tail reads issued by this process (tests and benches bound the database load with it). */
export const tailStats = { queries: 0 };

/** The first cursor of a new subscription: history after `sinceMs` (if given), then live from now. */
export async function tailStart(pool: pg.Pool, sinceMs: number | undefined): Promise<TailCursor> {
  tailStats.queries++;
  const xmin =
    (await fencedXmin(pool)) ?? String((await pool.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x`)).rows[0].x);
  if (sinceMs === undefined) return { phase: 'live', xid: xmin, seq: '0' };
  return {
    phase: 'history',
    liveFrom: xmin,
    tUs: String(Math.floor(sinceMs * 1000)),
    id: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    seq: '0',
  };
}

const EPOCH_US = (param: string) => `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;
const ridOf = (table: EventTable) => (table === 'flows' ? 'flow_id' : 'event_id');

interface TailRow {
  src_table: EventTable;
  t_us: string;
  rid: string;
  xid: string;
  seq: string;
  row: Row;
  xmin?: string;
}

// The row travels as a composite and becomes JSON only after the final LIMIT: an expression in a sorted
// subquery is computed for every row fed to the sort (measured: 490 ms for a 500-row page of 20k candidates
// when the planner sorts instead of walking the index).
const COLUMNS = (table: EventTable) =>
  `'${table}' AS src_table, (extract(epoch FROM time) * 1000000)::bigint AS t_us, ${ridOf(table)} AS rid, ingest_xid, ingest_seq, ` +
  (table === 'flows' ? 'x AS fr, NULL::l7_events AS lr' : 'NULL::flows AS fr, x AS lr');
const ROW_JSON = `CASE WHEN src_table = 'flows' THEN to_jsonb(fr) ELSE to_jsonb(lr) END`;

/** One page of the history phase: stored before `liveFrom`, after the cursor in (time, id, seq). */
async function historyPage(
  pool: pg.Pool,
  filter: FlowQueryFilter,
  c: Extract<TailCursor, { phase: 'history' }>,
  limit: number,
): Promise<TailPage> {
  const p = new Params();
  const side = (table: EventTable) => {
    const rid = ridOf(table);
    const t = EPOCH_US(p.add(c.tUs));
    return `(SELECT ${COLUMNS(table)} FROM ${table} x
              WHERE time >= ${t} AND (time, ${rid}, ingest_seq) > (${t}, ${p.add(c.id)}::uuid, ${p.add(c.seq)}::bigint)
                AND ingest_xid < ${p.add(c.liveFrom)}::xid8 AND ${queryClause(filter, table, p)}
              ORDER BY time ASC, ${rid} ASC, ingest_seq ASC LIMIT ${limit})`;
  };
  const sql = `SELECT src_table, t_us, rid, xid, seq, ${ROW_JSON} AS row FROM (
                 SELECT src_table, t_us, rid, ingest_xid::text AS xid, ingest_seq AS seq, fr, lr FROM (${side('flows')} UNION ALL ${side('l7_events')}) u
                  ORDER BY t_us ASC, rid ASC, seq ASC LIMIT ${limit}) m
                ORDER BY t_us ASC, rid ASC, seq ASC`;
  tailStats.queries++;
  const rows = (await pool.query(sql, p.values)).rows as TailRow[];
  const items = rows.map((r) => {
    const at: TailCursor = { phase: 'history', liveFrom: c.liveFrom, tUs: String(r.t_us), id: r.rid, seq: String(r.seq) };
    return { eventId: cursorToEventId(at), record: recordFromRow(r.src_table, r.t_us, r.row), at };
  });
  const full = rows.length >= limit;
  const last = items[items.length - 1]?.at;
  // History exhausted: go live from the snapshot the subscription started at (and read on at once).
  const next: TailCursor = full && last ? last : { phase: 'live', xid: c.liveFrom, seq: '0' };
  return { items: items.map(({ eventId, record }) => ({ eventId, record })), next, full: true };
}

/** One page of the live phase: rows of ended transactions after the cursor in (ingest_xid, ingest_seq). */
async function livePage(
  pool: pg.Pool,
  filter: FlowQueryFilter,
  c: Extract<TailCursor, { phase: 'live' }>,
  limit: number,
): Promise<TailPage> {
  const p = new Params();
  const xid = p.add(c.xid);
  const seq = p.add(c.seq);
  // Every statement has one snapshot, so this xmin is the same in both sides and in the returned column. On
  // Citus it is read first, with no ingest commit in flight (citus/commit-fence.ts).
  const fenced = await fencedXmin(pool);
  const xmin = fenced === null ? `(SELECT pg_snapshot_xmin(pg_current_snapshot()))` : `${p.add(fenced)}::xid8`;
  const side = (table: EventTable) => `(SELECT ${COLUMNS(table)} FROM ${table} x
      WHERE ingest_xid >= ${xid}::xid8 AND (ingest_xid, ingest_seq) > (${xid}::xid8, ${seq}::bigint) AND ingest_xid < ${xmin}
        AND ${queryClause(filter, table, p)}
      ORDER BY ingest_xid ASC, ingest_seq ASC LIMIT ${limit})`;
  const sql = `SELECT ${xmin}::text AS xmin, m.src_table, m.t_us, m.rid, m.xid, m.seq, m.row FROM (SELECT 1) one LEFT JOIN (
                 SELECT src_table, t_us, rid, ingest_xid::text AS xid, ingest_xid AS xid_order, ingest_seq AS seq, ${ROW_JSON} AS row
                   FROM (SELECT * FROM (${side('flows')} UNION ALL ${side('l7_events')}) u ORDER BY ingest_xid ASC, ingest_seq ASC LIMIT ${limit}) l) m ON true
                ORDER BY m.xid_order ASC, m.seq ASC`;
  tailStats.queries++;
  const rows = (await pool.query(sql, p.values)).rows as TailRow[];
  const snapshotXmin = String(rows[0]?.xmin ?? c.xid);
  const found = rows.filter((r) => r.src_table !== null);
  const items = found.map((r) => ({
    eventId: cursorToEventId({ phase: 'live', xid: r.xid, seq: String(r.seq) }),
    record: recordFromRow(r.src_table, r.t_us, r.row),
  }));
  const full = found.length >= limit;
  const last = found[found.length - 1];
  // A full page stops at its last row. A short one examined every row below xmin (all of them below xmin
  // by the WHERE clause): the next read starts at xmin, which never moves backwards.
  const next: TailCursor =
    full && last
      ? { phase: 'live', xid: last.xid, seq: String(last.seq) }
      : BigInt(snapshotXmin) > BigInt(c.xid)
        ? { phase: 'live', xid: snapshotXmin, seq: '0' }
        : c;
  return { items, next, full };
}

/** The records after `cursor` matching the filter (at most `limit`), and the cursor after them. */
export async function tailPage(pool: pg.Pool, filter: FlowQueryFilter, cursor: TailCursor, limit: number): Promise<TailPage> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new FilterError('invalid tail page size', 'limit');
  return cursor.phase === 'history' ? historyPage(pool, filter, cursor, limit) : livePage(pool, filter, cursor, limit);
}
