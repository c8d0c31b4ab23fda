/**
 * L7 records per minute (docs/l7-line-rate.md, coverage): a batch's L7 rows counted per (minute, source service,
 * destination service, protocol, sampling reason — '' for the full path) and upserted into `l7_record_minute` in
 * the batch's transaction, so coverage.l7 reads how many records a window holds, by why they were kept, without
 * scanning l7_events. Each side is named as the rollups name it (service, else first DNS name, else address).
 */
import type { IngestBatch } from '@sextant/shared';
import { keyedUpsert, KeyedRows, SERVICE_PAIR } from './keyed-upsert';
import { MINUTE_MS } from './rollups';
import { BatchEndpoints } from './rows';
import { servicePair, servicePairParts, servicePairPayload, type ServicePair } from './service-pair';

export interface RecordRollup extends ServicePair {
  bucket: number;
  protocol: string;
  /** l7_events.sampling, '' for none (the full path). */
  sampling: string;
  records: number;
}

export function foldRecords(batch: Pick<IngestBatch, 'l7' | 'endpoints'>, ends = new BatchEndpoints(batch.endpoints)): RecordRollup[] {
  const rows = new KeyedRows<RecordRollup>();
  for (const e of batch.l7) {
    const pair = servicePair(ends.identity(e.source[2]), e.source[0], ends.identity(e.destination[2]), e.destination[0]);
    const bucket = Math.floor(e.time / MINUTE_MS) * MINUTE_MS;
    const { protocol } = e;
    const sampling = e.sampling ?? '';
    rows.get(bucket, [...servicePairParts(pair), protocol, sampling], () => ({ bucket, ...pair, protocol, sampling, records: 0 }))
      .records++;
  }
  return rows.sorted();
}

export const upsertRecords = keyedUpsert<RecordRollup>({
  table: 'l7_record_minute',
  keys: [...SERVICE_PAIR, ['protocol', 'text'], ['sampling', 'text']],
  sums: [['records', 'bigint']],
  payload: (r) => ({ bucket: r.bucket, ...servicePairPayload(r), protocol: r.protocol, sampling: r.sampling, records: r.records }),
});
