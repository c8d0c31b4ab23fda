/** A batch serialized once for the wire: what the shipper queues, sends, spools and re-sends. */
import type { IngestBatchInput } from '@sextant/shared';

export interface PreparedBatch {
  batchId: string;
  /** The ingest procedure's input, as JSON. */
  json: string;
  /** Flows + L7 events in it (for statistics and the spool's drop count). */
  records: number;
}

export function prepareBatch(batch: IngestBatchInput): PreparedBatch {
  return { batchId: batch.batchId, json: JSON.stringify(batch), records: (batch.flows?.length ?? 0) + (batch.l7?.length ?? 0) };
}
