/**
 * The connection drawer's exchanges: the one that was clicked, and the connection's L7 exchanges a page at
 * a time around it (oldest first, by (time, event id)). A keep-alive connection may carry thousands of
 * exchanges; the drawer shows the page holding the clicked one and pages on from there.
 */
import type { L7Event } from '@sextant/shared';
import type pg from 'pg';
import { FilterError } from './filter-sql';
import { l7FromRow, type Row } from './read-rows';

const EPOCH_US = (param: string) => `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;

export interface ExchangePage {
  /** The exchange asked for; null when none was asked for or it is not stored on this connection. */
  selected: L7Event | null;
  /** One page of the connection's exchanges, oldest first. */
  items: L7Event[];
  /** Position of the first item among all the connection's exchanges (0-based). */
  offset: number;
  /** How many exchanges the connection has (within a day of `around`). */
  total: number;
  /** Position of the selected exchange among them, or null. */
  selectedIndex: number | null;
}

export interface ExchangeQuery {
  /** The clicked exchange: the page is centred on it unless `offset` is given. */
  eventId?: string | null;
  /** Page start (0-based); default: around the selected exchange, else the first page. */
  offset?: number;
  limit: number;
}

const read = (rows: { t_us: string; row: Row }[]) => rows.map((r) => l7FromRow({ ...r.row, t_us: r.t_us }));

/** One connection's exchanges by its flow id; `around` (epoch ms) bounds the partitions read to a day either side. */
export async function flowExchanges(pool: pg.Pool, flowId: string, around: number, q: ExchangeQuery): Promise<ExchangePage> {
  if (!UUID.test(flowId)) throw new FilterError('not a flow id', 'flowId');
  if (q.eventId && !UUID.test(q.eventId)) throw new FilterError('not an event id', 'eventId');
  const limit = Math.max(1, Math.min(500, Math.floor(q.limit)));
  const lo = Math.floor((around - DAY_MS) * 1000);
  const hi = Math.ceil((around + DAY_MS) * 1000);
  // The connection's rows, for a table alias: $1 flow id, $2/$3 the window in epoch µs.
  const scope = (a: string) => `${a}.flow_id = $1::uuid AND ${a}.time >= ${EPOCH_US('$2')} AND ${a}.time < ${EPOCH_US('$3')}`;
  const total = Number((await pool.query(`SELECT count(*) AS n FROM l7_events l WHERE ${scope('l')}`, [flowId, lo, hi])).rows[0].n);
  let selected: L7Event | null = null;
  let selectedIndex: number | null = null;
  if (q.eventId) {
    const res = await pool.query(
      `SELECT (extract(epoch FROM s.time) * 1000000)::bigint AS t_us, to_jsonb(s) AS row,
              (SELECT count(*) FROM l7_events l WHERE ${scope('l')} AND (l.time, l.event_id) < (s.time, s.event_id)) AS before
         FROM l7_events s WHERE ${scope('s')} AND s.event_id = $4::uuid LIMIT 1`,
      [flowId, lo, hi, q.eventId],
    );
    const row = res.rows[0] as { t_us: string; row: Row; before: string } | undefined;
    if (row) {
      selected = read([row])[0] ?? null;
      selectedIndex = Number(row.before);
    }
  }
  const centred = selectedIndex === null ? 0 : selectedIndex - Math.floor(limit / 2);
  const offset = Math.max(0, Math.min(q.offset ?? centred, Math.max(0, total - limit)));
  const page = await pool.query(
    `SELECT (extract(epoch FROM time) * 1000000)::bigint AS t_us, to_jsonb(l) AS row FROM l7_events l
      WHERE ${scope('l')} ORDER BY l.time ASC, l.event_id ASC OFFSET $4 LIMIT $5`,
    [flowId, lo, hi, offset, limit],
  );
  return { selected, items: read(page.rows as { t_us: string; row: Row }[]), offset, total, selectedIndex };
}
