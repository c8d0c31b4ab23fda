/**
 * Live tail and detail reads for the flow search page. The tail reads records newer than a point in time in
 * ascending (time, id) order so a subscriber can resume from the last record it saw; the detail read gathers
 * one connection: its L4 record (latest row of the flow), its L7 exchanges and its TCP statistics.
 */
import type { Flow, FlowQueryFilter, L7Event } from '@sextant/shared';
import type pg from 'pg';
import { FilterError, Params, queryClause, type EventTable } from './filter-sql';
import { flowFromRow, l7FromRow, type Row } from './read-rows';
import type { FlowRecord } from './search-flows';

const EPOCH_US = (param: string) => `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;

export interface TailInput {
  filter: FlowQueryFilter;
  /** Exclusive lower bound, epoch microseconds (decimal string). */
  afterUs: string;
  /** Inclusive upper bound, epoch microseconds (decimal string). */
  untilUs: string;
  limit: number;
}

export interface TailItem {
  /** Epoch microseconds of the record's time (decimal string): the resume position. */
  tUs: string;
  record: FlowRecord;
}

const recordId = (r: FlowRecord) => (r.kind === 'flow' ? r.flow.id : r.event.id);
export { recordId };

function toRecord(src: EventTable, tUs: number | string, row: Row): FlowRecord {
  const full = { ...row, t_us: tUs, end_us: row.end_time ? Date.parse(String(row.end_time)) * 1000 : null };
  return src === 'flows' ? { kind: 'flow', flow: flowFromRow(full) } : { kind: 'l7', event: l7FromRow(full) };
}

/** Records with afterUs < time <= untilUs matching the filter, oldest first, at most `limit`. */
export async function tailFlows(pool: pg.Pool, input: TailInput): Promise<TailItem[]> {
  if (!/^\d{1,19}$/.test(input.afterUs) || !/^\d{1,19}$/.test(input.untilUs)) throw new FilterError('invalid tail position', 'lastEventId');
  const p = new Params();
  const side = (table: EventTable) => {
    const id = table === 'flows' ? 'flow_id' : 'event_id';
    return `(SELECT '${table}' AS src_table, ${id} AS rid, (extract(epoch FROM time) * 1000000)::bigint AS t_us, * FROM ${table}
              WHERE time > ${EPOCH_US(p.add(input.afterUs))} AND time <= ${EPOCH_US(p.add(input.untilUs))} AND ${queryClause(input.filter, table, p)}
              ORDER BY time ASC, ${id} ASC LIMIT ${input.limit})`;
  };
  const sql = `
    SELECT src_table, rid, t_us, row FROM (
      SELECT src_table, rid, t_us, to_jsonb(f) AS row FROM ${side('flows')} f
      UNION ALL
      SELECT src_table, rid, t_us, to_jsonb(l) AS row FROM ${side('l7_events')} l
    ) m ORDER BY t_us ASC, rid ASC LIMIT ${input.limit}`;
  const rows = (await pool.query(sql, p.values)).rows as { src_table: EventTable; rid: string; t_us: string; row: Row }[];
  return rows.map((r) => ({ tUs: String(r.t_us), record: toRecord(r.src_table, r.t_us, r.row) }));
}

export interface TcpStats {
  bytesSent: number;
  bytesReceived: number;
  packetsSent: number;
  packetsReceived: number;
  retransmits: number;
  srttUs: number | null;
  connectLatencyNs: number | null;
  closeReason: Flow['closeReason'];
  tcpFlags: Flow['tcpFlags'];
  durationMs: number | null;
  /** How many rows (interim updates and the final record) the collector sent for this connection. */
  updates: number;
}

export interface FlowDetail {
  /** The latest L4 row of the connection (the final one when it has closed); null if not stored. */
  flow: Flow | null;
  /** The connection's L7 exchanges, oldest first. */
  l7: L7Event[];
  tcp: TcpStats | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One connection by its flow id. `around` (epoch ms) bounds the partitions read: rows within a day of it.
 */
export async function flowDetail(pool: pg.Pool, flowId: string, around: number): Promise<FlowDetail> {
  if (!UUID.test(flowId)) throw new FilterError('not a flow id', 'flowId');
  const lo = Math.floor((around - 86_400_000) * 1000);
  const hi = Math.ceil((around + 86_400_000) * 1000);
  const flowRows = (
    await pool.query(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint AS t_us, to_jsonb(f) AS row FROM flows f
        WHERE flow_id = $1::uuid AND time >= ${EPOCH_US('$2')} AND time < ${EPOCH_US('$3')}
        ORDER BY final DESC, coalesce(end_time, time) DESC`,
      [flowId, lo, hi],
    )
  ).rows as { t_us: string; row: Row }[];
  const l7Rows = (
    await pool.query(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint AS t_us, to_jsonb(l) AS row FROM l7_events l
        WHERE flow_id = $1::uuid AND time >= ${EPOCH_US('$2')} AND time < ${EPOCH_US('$3')}
        ORDER BY time ASC, event_id ASC LIMIT 1000`,
      [flowId, lo, hi],
    )
  ).rows as { t_us: string; row: Row }[];
  const first = flowRows[0];
  const flow = first ? (toRecord('flows', first.t_us, first.row) as { kind: 'flow'; flow: Flow }).flow : null;
  const l7 = l7Rows.map((r) => (toRecord('l7_events', r.t_us, r.row) as { kind: 'l7'; event: L7Event }).event);
  const tcp: TcpStats | null =
    flow && flow.l4Protocol === 'TCP'
      ? {
          bytesSent: flow.bytesSent,
          bytesReceived: flow.bytesReceived,
          packetsSent: flow.packetsSent,
          packetsReceived: flow.packetsReceived,
          retransmits: flow.retransmits,
          srttUs: flow.srttUs ?? null,
          connectLatencyNs: flow.connectLatencyNs ?? null,
          closeReason: flow.closeReason,
          tcpFlags: flow.tcpFlags,
          durationMs: flow.endTime !== undefined ? flow.endTime - flow.time : null,
          updates: flowRows.length,
        }
      : null;
  return { flow, l7, tcp };
}
