/** A batch serialized once for the wire: what the shipper queues, sends, spools and re-sends. */
import type {
  CollectorHealthReportInput,
  FlowInput,
  HistogramSample,
  L7AggregateInput,
  L7EventInput,
  PendingFlowRow,
} from '@sextant/shared';
import { BatchEncoder, FLOW_IX, WIRE_SCHEMA_VERSION } from '@sextant/shared';
import { JsonWriter } from './json-writer';

/** One writer for every batch (batches are prepared one at a time; the body is copied out of it). */
const writer = new JsonWriter();

export interface PreparedBatch {
  batchId: string;
  /** The ingest procedure's input: JSON, UTF-8. */
  body: Buffer;
  /** Flows + L7 events + L7 aggregates in it (for statistics and the spool's drop count). */
  records: number;
}

export interface BatchContent {
  batchId: string;
  sentAt: number;
  flows: FlowInput[];
  /** Flows built as rows (TCP connections); taken over by prepareBatch. */
  flowRows?: PendingFlowRow[];
  l7?: L7EventInput[];
  histograms?: HistogramSample[];
  /** Kernel-counted HTTP exchanges (signals mode). */
  l7Aggregates?: L7AggregateInput[];
  health?: CollectorHealthReportInput;
}

/**
 * Serializes a batch in the wire schema (packages/shared wire.ts): flows as columns (wire-columns.ts: a value all
 * rows share once, times as small integers, ids as one string) and L7 events with their endpoints as refs into one table, each
 * endpoint identity once. Row-built flows come first. `nodeName` is the batch's node name (rows carry null for
 * it). The body is exactly `JSON.stringify` of the batch object (tested), flows as `encodeFlowColumns` gives them,
 * written straight into the body's bytes (json-writer.ts).
 */
export function prepareBatch(b: BatchContent, opts: { nodeName?: string } = {}): PreparedBatch {
  const rows = b.flowRows ?? [];
  const records = rows.length + b.flows.length + (b.l7?.length ?? 0) + (b.l7Aggregates?.length ?? 0);
  const out = writer;
  out.reset();
  const nodeName = opts.nodeName ?? b.flows[0]?.nodeName ?? rows[0]?.[FLOW_IX.nodeName] ?? '';
  const encoder = new BatchEncoder(nodeName);
  for (const r of rows) encoder.addPending(r);
  for (const f of b.flows) encoder.addFlow(f);
  // the L7 events' identities join the table before it is written
  const l7 = b.l7?.map((e) => encoder.l7(e));
  const aggregates = b.l7Aggregates?.length ? b.l7Aggregates.map((a) => encoder.l7Aggregate(a)) : undefined;
  out.text(
    `{"schemaVersion":${WIRE_SCHEMA_VERSION},"batchId":${JSON.stringify(b.batchId)},"sentAt":${JSON.stringify(b.sentAt)},"nodeName":${JSON.stringify(nodeName)},"endpoints":`,
  );
  out.array(encoder.endpoints);
  if (encoder.rows.length) {
    // (as rows this was the collector's largest cost: every row's constants again, two fractional times)
    out.text(',"flowColumns":');
    out.flowColumns(encoder.rows);
  }
  if (l7) {
    out.text(',"l7":');
    out.array(l7);
  }
  if (aggregates) {
    out.text(',"l7Aggregates":');
    out.array(aggregates);
  }
  if (b.histograms) out.text(`,"histograms":${JSON.stringify(b.histograms)}`);
  if (b.health) out.text(`,"health":${JSON.stringify(b.health)}`);
  out.text('}');
  return { batchId: b.batchId, body: out.bytes(), records };
}
