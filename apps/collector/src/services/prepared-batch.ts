/** A batch serialized once for the wire: what the shipper queues, sends, spools and re-sends. */
import type { CollectorHealthReport, FlowInput, HistogramSample, IngestBatchInput, L7EventInput, WireSchemaVersion } from '@sextant/shared';
import { encodeFlowRows } from '@sextant/shared';

export interface PreparedBatch {
  batchId: string;
  /** The ingest procedure's input, as JSON. */
  json: string;
  /** Flows + L7 events in it (for statistics and the spool's drop count). */
  records: number;
}

export interface BatchContent {
  batchId: string;
  sentAt: number;
  flows: FlowInput[];
  l7?: L7EventInput[];
  histograms?: HistogramSample[];
  health?: CollectorHealthReport;
}

/**
 * Serializes a batch in the given wire schema: v2 (compact flow rows, each endpoint identity once; the
 * default) for servers that take it, v1 (flows as objects) for older ones. `nodeName` is v2's per-batch
 * default node name.
 */
export function prepareBatch(b: BatchContent, opts: { version?: WireSchemaVersion; nodeName?: string } = {}): PreparedBatch {
  const records = b.flows.length + (b.l7?.length ?? 0);
  let batch: IngestBatchInput;
  if ((opts.version ?? 2) === 1) {
    batch = { schemaVersion: 1, ...b };
  } else {
    const nodeName = opts.nodeName ?? b.flows[0]?.nodeName ?? '';
    batch = { schemaVersion: 2, batchId: b.batchId, sentAt: b.sentAt, nodeName, ...encodeFlowRows(b.flows, nodeName), l7: b.l7, histograms: b.histograms, health: b.health };
  }
  return { batchId: b.batchId, json: JSON.stringify(batch), records };
}
