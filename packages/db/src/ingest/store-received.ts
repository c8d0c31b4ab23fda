/**
 * Batches as the API receives them, stored through the ingest window: a collector's batch (records outside
 * [now − raw retention, now + skew] left out and counted) and a Hubble import (history: only future records
 * left out; records already stored left out, so an overlapping or appended capture adds only what is new).
 */
import { encodeRecords, FLOW_IX, type Flow, type IngestBatch, type IngestResult, type L7Event } from '@sextant/shared';
import type pg from 'pg';
import { importCollectorId } from '../collectors/by-name';
import type { PrismaClient } from '../generated/prisma/client';
import { existingRecordIds } from '../queries/existing-records';
import { storeBatch } from './store-batch';
import { applyWindow, ingestWindow, rawRetentionDays, type RejectedRecords, windowDays } from './window';

export interface ReceivedBatchResult {
  result: IngestResult;
  /** The batch as stored: records outside the window left out. */
  batch: IngestBatch;
  rejected: RejectedRecords;
}

/** A collector's batch, inside the ingest window, in one transaction (storeBatch). */
export async function storeReceivedBatch(pool: pg.Pool, collectorId: string, input: IngestBatch): Promise<ReceivedBatchResult> {
  const window = ingestWindow(rawRetentionDays());
  const { batch, rejected } = applyWindow(input, window);
  const result = await storeBatch(pool, collectorId, batch, { maxDays: windowDays(window) });
  return { result, batch, rejected };
}

export interface ImportResult {
  /** The `hubble-import` collector the records are stored under. */
  collectorId: string;
  result: IngestResult;
  /** New flows and L7 events in the batch (not stored before, not repeated within it). */
  flows: number;
  l7: number;
  /** Records left out because their id is already stored or repeated in the batch. */
  duplicates: number;
  rejected: RejectedRecords;
}

/** Records parsed from Hubble jsonpb lines, stored as one batch of the `hubble-import` collector. */
export async function storeImportedRecords(
  db: { pool: pg.Pool; prisma: PrismaClient },
  userId: string,
  input: { batchId: string; flows: Flow[]; l7: L7Event[] },
): Promise<ImportResult> {
  const { batchId } = input;
  const collectorId = await importCollectorId(db.prisma, userId);
  // A capture is history: older records than retention are taken (the maintenance job drops them), records
  // from the future are not, and one batch may touch no more days than ingest's window holds.
  const window = ingestWindow(rawRetentionDays());
  const windowed = applyWindow(encodeRecords({ batchId, flows: input.flows, l7: input.l7 }), { minMs: 0, maxMs: window.maxMs });
  const { flows, l7 } = windowed.batch;
  const known = await existingRecordIds(db.pool, {
    flows: flows.map((r) => ({ id: r[FLOW_IX.id], time: r[FLOW_IX.time] })),
    l7: l7.map((e) => ({ id: e.id, time: e.time })),
  });
  const fresh = <T>(items: T[], idOf: (r: T) => string, stored: Set<string>) => {
    const seen = new Set<string>();
    return items.filter((r) => !stored.has(idOf(r)) && !seen.has(idOf(r)) && seen.add(idOf(r)));
  };
  const newFlows = fresh(flows, (r) => r[FLOW_IX.id], known.flows);
  const newL7 = fresh(l7, (e) => e.id, known.l7);
  const duplicates = flows.length + l7.length - newFlows.length - newL7.length;
  const result = await storeBatch(db.pool, collectorId, { ...windowed.batch, flows: newFlows, l7: newL7 }, { maxDays: windowDays(window) });
  return { collectorId, result, flows: newFlows.length, l7: newL7.length, duplicates, rejected: windowed.rejected };
}
