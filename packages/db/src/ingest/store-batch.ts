/**
 * Stores one ingest batch (flow rows and L7 event rows, as validated: no objects in between) in one transaction: the receipt (idempotency key), COPY of flows and L7 events,
 * edge rollups (kernel L7 aggregates fold into them, they are not stored as rows), latency rollups, service names and the collector's health. A batch id already stored is
 * acknowledged without writing anything again.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeRecords, FLOW_IX, type IngestBatch, type IngestResult, type RecordBatch } from '@sextant/shared';
import type { CollectorHealthReport, Flow, L7Event } from '@sextant/shared';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { commitFenced, poolOnCitus } from '../citus/commit-fence';
import { dayOf, ensurePartitions, PARTITIONED_TABLES } from '../maintenance/partitions';
import { jsonText } from './copy-text';
import { foldCoverage, upsertCoverage } from './coverage-rollup';
import { IngestInputError } from './errors';
import { foldRecords, upsertRecords } from './record-rollup';
import { foldEdges, foldLatency, markDirtyHours, MINUTE_MS, upsertEdges, upsertLatency, upsertServices } from './rollups';
import { BatchEndpoints, FLOW_COLUMNS, flowCopyWriter, L7_COLUMNS, l7CopyWriter, type RowContext } from './rows';
import { DEFAULT_MAX_BATCH_DAYS } from './window';

const CHUNK_CHARS = 256 * 1024;

function* copyChunks<T>(items: readonly T[], toLine: (item: T) => string): Generator<string> {
  let chunk = '';
  for (const item of items) {
    chunk += toLine(item);
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** COPY items into a table through the given client (inside the caller's transaction), one text line each. */
export async function copyInto<T>(
  client: pg.PoolClient,
  table: string,
  columns: readonly string[],
  items: readonly T[],
  toLine: (item: T) => string,
): Promise<void> {
  if (items.length === 0) return;
  const sink = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(copyChunks(items, toLine)), sink);
}

/** COPY a batch's flow and L7 rows (rows.ts), identities formatted once for both. */
export async function copyBatch(
  client: pg.PoolClient,
  batch: IngestBatch,
  ctx: RowContext,
  ends = new BatchEndpoints(batch.endpoints),
): Promise<void> {
  await copyInto(client, 'flows', FLOW_COLUMNS, batch.flows, flowCopyWriter(batch, ctx, ends));
  await copyInto(client, 'l7_events', L7_COLUMNS, batch.l7, l7CopyWriter(batch, ctx, ends));
}

function batchDays(batch: IngestBatch): Set<number> {
  const days = new Set<number>();
  for (const f of batch.flows) days.add(dayOf(f[FLOW_IX.time]));
  for (const e of batch.l7) days.add(dayOf(e.time));
  for (const h of batch.histograms) days.add(dayOf(h.windowStart));
  for (const a of batch.l7Aggregates) days.add(dayOf(a.time));
  return days;
}

export interface StoreOptions {
  /**
   * Most UTC days one batch may touch (each needs a partition per telemetry table, kept until retention
   * reaches it): the ingest window's days (window.ts windowDays); default DEFAULT_MAX_BATCH_DAYS.
   */
  maxDays?: number;
}

/** Records as objects (Hubble import, tests, tools), stored as the batch of rows they encode to. */
export async function storeRecords(
  pool: pg.Pool,
  collectorId: string,
  records: RecordBatch<Flow, L7Event, CollectorHealthReport>,
  opts: StoreOptions = {},
): Promise<IngestResult> {
  return storeBatch(pool, collectorId, encodeRecords(records), opts);
}

/** A parsed batch (rows as the collector sent them), in one transaction. */
export async function storeBatch(pool: pg.Pool, collectorId: string, batch: IngestBatch, opts: StoreOptions = {}): Promise<IngestResult> {
  const result = {
    batchId: batch.batchId,
    flows: batch.flows.length,
    l7: batch.l7.length,
    histograms: batch.histograms.length,
    l7Aggregates: batch.l7Aggregates.length,
  };
  const days = batchDays(batch);
  const maxDays = opts.maxDays ?? DEFAULT_MAX_BATCH_DAYS;
  if (days.size > maxDays) throw new IngestInputError(`records span ${days.size} days: at most ${maxDays} days per batch`);
  if (days.size) await ensurePartitions(pool, PARTITIONED_TABLES, days);
  const ctx: RowContext = { collectorId, batchId: batch.batchId };

  const citus = await poolOnCitus(pool);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const receipt = await client.query(
      `INSERT INTO ingest_receipts (batch_id, collector_id, flows, l7_events, histograms)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id`,
      [batch.batchId, collectorId, result.flows, result.l7, result.histograms],
    );
    if (receipt.rowCount === 0) {
      await client.query('ROLLBACK');
      return { ...result, stored: false };
    }
    const ends = new BatchEndpoints(batch.endpoints);
    await copyBatch(client, batch, ctx, ends);
    const minute = foldEdges(batch, MINUTE_MS, ends);
    await upsertEdges(client, 'edge_minute', minute);
    await upsertCoverage(client, foldCoverage(batch, ends));
    await upsertRecords(client, foldRecords(batch, ends));
    await markDirtyHours(client, minute);
    await upsertLatency(client, foldLatency(batch.histograms));
    await upsertServices(client, minute);
    if (batch.health) {
      const h = batch.health;
      await client.query(
        `INSERT INTO collector_health (collector_id, time, events_per_second, lost_events, unparsed_bytes, parsed_bytes, spool_bytes, report)
         VALUES ($1, to_timestamp($2 / 1000.0), $3, $4, $5, $6, $7, $8)`,
        [collectorId, h.time, h.eventsPerSecond, h.lostEvents, h.unparsedBytes, h.parsedBytes, h.spoolBytes, jsonText(h)],
      );
      await client.query(
        `UPDATE collectors SET last_seen_at = now(), last_health = $2, hostname = $3, version = $4, kernel = $5 WHERE id = $1`,
        [collectorId, jsonText(h), h.hostname, h.version, h.kernel],
      );
    } else {
      await client.query(`UPDATE collectors SET last_seen_at = now() WHERE id = $1`, [collectorId]);
    }
    // On Citus the live tail must not pass this batch before its rows are visible on every worker.
    await commitFenced(client, citus);
    return { ...result, stored: true };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
