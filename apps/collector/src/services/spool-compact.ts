/**
 * What the spool keeps of a batch when it needs room: its aggregate parts, under the same batch id. Records (TCP
 * connection flows, L7 records) grow with the traffic and each is one record among many; the kernel's aggregates
 * (L7 aggregate rows; UDP conversations and packet drops, which travel as flows) and the latency histograms are
 * the only count of what they counted, a bounded few per drain, and the health report is one small point of the
 * collector's own history. A batch compacted this way is the same batch to the server (one receipt per batch id,
 * packages/db store-batch.ts): if the whole batch was stored before (a timeout that hid the answer), the
 * compacted one is a duplicate and adds nothing; if not, its aggregates are stored and its records never.
 */
import { decodeFlowColumns, encodeFlowColumns, FLOW_IX, type FlowColumns } from '@sextant/shared';

/** A spooled body's parts, as counted for the spool's statistics. */
export interface BatchParts {
  /** TCP connection flows and L7 records: what compaction sheds. */
  records: number;
  /** Kernel aggregates: L7 aggregate rows and flows that are aggregates (isAggregateFlow); the exchanges the former count. */
  aggregates: number;
  exchanges: number;
  /** Latency histogram samples, and the observations they count. */
  histograms: number;
  observations: number;
  health: boolean;
}

export interface Compacted extends BatchParts {
  /** The batch without its records; null when nothing is left worth sending (it held records only). */
  body: Buffer | null;
}

type Ref = [string, number | null, number | null];
interface AggregateRow {
  source: Ref;
  destination: Ref;
  count?: number;
}
interface BatchJson {
  endpoints?: unknown[];
  /** Schema 5: flows as rows; 6: as columns. */
  flows?: unknown[][];
  flowColumns?: FlowColumns;
  l7?: unknown[];
  l7Aggregates?: AggregateRow[];
  histograms?: { cnt?: number[] }[];
  health?: unknown;
  [key: string]: unknown;
}

/**
 * A UDP conversation or a packet drop counted by the kernel over an interval (aggregate-flows.ts: the only count of
 * them, a few per drain), not a TCP connection's own record (a refused connect is one: closed REFUSED).
 */
export function isAggregateFlow(row: readonly unknown[]): boolean {
  return row[FLOW_IX.l4Protocol] !== 'TCP' || (row[FLOW_IX.verdict] === 'DROPPED' && row[FLOW_IX.closeReason] === 'NONE');
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The flows that are kernel aggregates; the columns decoded only when there are some (the three read are plain values). */
function aggregateFlows(b: BatchJson): unknown[][] {
  const c = b.flowColumns;
  if (!c) return (b.flows ?? []).filter(isAggregateFlow);
  const cols = [FLOW_IX.l4Protocol, FLOW_IX.verdict, FLOW_IX.closeReason].map((k) => c.columns[k]);
  const row: unknown[] = [];
  let any = false;
  for (let i = 0; i < c.rows && !any; i++) {
    [row[FLOW_IX.l4Protocol], row[FLOW_IX.verdict], row[FLOW_IX.closeReason]] = cols.map((col) => (Array.isArray(col) ? col[i] : col));
    any = isAggregateFlow(row);
  }
  return any ? decodeFlowColumns(c).filter(isAggregateFlow) : [];
}

function read(body: Buffer): { b: BatchJson; kept: unknown[][]; parts: BatchParts } {
  const b = JSON.parse(body.toString('utf8')) as BatchJson;
  const kept = aggregateFlows(b);
  const flows = b.flowColumns?.rows ?? b.flows?.length ?? 0;
  const aggregates = b.l7Aggregates ?? [];
  const histograms = b.histograms ?? [];
  const parts = {
    records: flows - kept.length + (b.l7?.length ?? 0),
    aggregates: aggregates.length + kept.length,
    exchanges: sum(aggregates.map((a) => a.count ?? 0)),
    histograms: histograms.length,
    observations: sum(histograms.map((h) => sum(h.cnt ?? []))),
    health: b.health !== undefined,
  };
  return { b, kept, parts };
}

/** The parts of a spooled body (wire schema 5 or 6). Throws when it is not JSON. */
export function batchParts(body: Buffer): BatchParts {
  return read(body).parts;
}

/**
 * The body without its records (TCP connection flows, L7 records), its endpoint table cut to the identities its
 * aggregates refer to (renumbered); every other field as it was. A body without records comes back as it is.
 * Throws when not JSON.
 */
export function compactBatch(body: Buffer): Compacted {
  const { b, kept, parts } = read(body);
  if (parts.records === 0) return { ...parts, body };
  if (!parts.aggregates && !parts.histograms && !parts.health) return { ...parts, body: null };
  const { flows: _flows, flowColumns, l7: _l7, endpoints, l7Aggregates, ...rest } = b;
  const table: unknown[] = [];
  const renumbered = new Map<number, number>();
  const ref = (r: unknown): number | null => {
    if (typeof r !== 'number') return null;
    let n = renumbered.get(r);
    if (n === undefined) {
      n = table.push(endpoints?.[r]) - 1;
      renumbered.set(r, n);
    }
    return n;
  };
  const flows = kept.map((row) => {
    const r = [...row];
    r[FLOW_IX.sourceRef] = ref(r[FLOW_IX.sourceRef]);
    r[FLOW_IX.destinationRef] = ref(r[FLOW_IX.destinationRef]);
    return r;
  });
  const aggregates = l7Aggregates?.map((a) => ({
    ...a,
    source: [a.source[0], a.source[1], ref(a.source[2])],
    destination: [a.destination[0], a.destination[1], ref(a.destination[2])],
  }));
  const out = {
    ...rest,
    endpoints: table,
    ...(flows.length ? (flowColumns ? { flowColumns: encodeFlowColumns(flows) } : { flows }) : {}),
    ...(aggregates ? { l7Aggregates: aggregates } : {}),
  };
  return { ...parts, body: Buffer.from(JSON.stringify(out)) };
}
