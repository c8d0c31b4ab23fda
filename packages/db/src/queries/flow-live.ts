/**
 * The detail read of the flow search page: one connection's L4 record (latest row of the flow), its L7
 * exchanges and its TCP statistics. (The live tail is in flow-tail.ts.)
 */
import type { Flow, L7Event } from '@sextant/shared';
import type pg from 'pg';
import { FilterError } from './filter-sql';
import { recordFromRow, type Row } from './read-rows';

const EPOCH_US = (param: string) => `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;

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
  const flow = first ? (recordFromRow('flows', first.t_us, first.row) as { kind: 'flow'; flow: Flow }).flow : null;
  const l7 = l7Rows.map((r) => (recordFromRow('l7_events', r.t_us, r.row) as { kind: 'l7'; event: L7Event }).event);
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
