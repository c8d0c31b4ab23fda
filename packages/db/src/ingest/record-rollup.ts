/**
 * L7 records per minute (docs/l7-line-rate.md, coverage): a batch's L7 rows counted per (minute, source service,
 * destination service, protocol, sampling reason — '' for the full path) and upserted into `l7_record_minute` in
 * the batch's transaction, so coverage.l7 reads how many records a window holds, by why they were kept, without
 * scanning l7_events. Each side is named as the rollups name it (service, else first DNS name, else address).
 */
import { endpointServiceName, type IngestBatch } from '@sextant/shared';
import type pg from 'pg';
import { MINUTE_MS } from './rollups';
import { BatchEndpoints } from './rows';

export interface RecordRollup {
  bucket: number;
  srcNamespace: string;
  srcService: string;
  dstNamespace: string;
  dstService: string;
  protocol: string;
  /** l7_events.sampling, '' for none (the full path). */
  sampling: string;
  records: number;
}

export function foldRecords(batch: Pick<IngestBatch, 'l7' | 'endpoints'>, ends = new BatchEndpoints(batch.endpoints)): RecordRollup[] {
  const rows = new Map<string, RecordRollup>();
  for (const e of batch.l7) {
    const [s, d] = [ends.identity(e.source[2]), ends.identity(e.destination[2])];
    const bucket = Math.floor(e.time / MINUTE_MS) * MINUTE_MS;
    const srcNamespace = s.namespace ?? '';
    const srcService = endpointServiceName({ ip: e.source[0], service: s.service, names: s.names });
    const dstNamespace = d.namespace ?? '';
    const dstService = endpointServiceName({ ip: e.destination[0], service: d.service, names: d.names });
    const sampling = e.sampling ?? '';
    const key = `${String(bucket).padStart(15, '0')}|${srcNamespace}|${srcService}|${dstNamespace}|${dstService}|${e.protocol}|${sampling}`;
    const prev = rows.get(key);
    if (prev) prev.records++;
    else rows.set(key, { bucket, srcNamespace, srcService, dstNamespace, dstService, protocol: e.protocol, sampling, records: 1 });
  }
  // One global key order, so concurrent batches cannot deadlock on each other's rows.
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

export async function upsertRecords(client: pg.PoolClient, rows: readonly RecordRollup[]): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((r) => ({
    bucket: r.bucket,
    src_namespace: r.srcNamespace,
    src_service: r.srcService,
    dst_namespace: r.dstNamespace,
    dst_service: r.dstService,
    protocol: r.protocol,
    sampling: r.sampling,
    records: r.records,
  }));
  await client.query(
    `INSERT INTO l7_record_minute AS t (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, sampling, records)
     SELECT to_timestamp(r.bucket / 1000.0), r.src_namespace, r.src_service, r.dst_namespace, r.dst_service, r.protocol, r.sampling, r.records
       FROM jsonb_to_recordset($1::jsonb) AS r(bucket bigint, src_namespace text, src_service text, dst_namespace text,
            dst_service text, protocol text, sampling text, records bigint)
     ON CONFLICT (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, sampling) DO UPDATE SET
       records = t.records + EXCLUDED.records`,
    [JSON.stringify(payload)],
  );
}
