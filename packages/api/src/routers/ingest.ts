/** Ingest procedures for collectors: register and batches (idempotent by batch id; a batch may carry a health report). */
import { IngestInputError, pgInputError, registerCollector, storeReceivedBatch } from '@sextant/db';
import {
  BATCH_LIMITS,
  decodeFlowRows,
  decodeL7Aggregates,
  decodeL7Rows,
  IngestBatch,
  MAX_BATCH_ENDPOINTS,
  RegisterInput,
  sanitizedRecords,
} from '@sextant/shared';
import { TRPCError } from '@trpc/server';
import { recordStoredBatch, withProcessMetrics } from '../metrics/process-metrics';
import { collectorProcedure, router } from '../trpc';

/**
 * A batch the server can never accept is a 400 with a short reason (the collector keeps it aside and moves
 * on); anything else is a 5xx it retries. PostgreSQL's messages (values, constraint names) stay in the log.
 * A middleware for any procedure that stores input (ingest, Hubble import).
 */
export function storageErrors(what: string) {
  return async <R extends { ok: boolean }>({ next, path }: { next: () => Promise<R>; path: string }): Promise<R> => {
    const res = await next();
    if (res.ok) return res;
    const error = (res as unknown as { error: TRPCError }).error;
    const cause = error.cause;
    const input = cause instanceof IngestInputError ? cause.message : pgInputError(cause);
    if (input) {
      withProcessMetrics((m) => m.recordRefusedBatch('invalid'));
      throw new TRPCError({ code: 'BAD_REQUEST', message: `${what}: ${input}` });
    }
    if (error.code === 'BAD_REQUEST' || error.code === 'PAYLOAD_TOO_LARGE')
      withProcessMetrics((m) => m.recordRefusedBatch(error.code === 'BAD_REQUEST' ? 'invalid' : 'too_large'));
    else if (error.code === 'INTERNAL_SERVER_ERROR') {
      console.error(`${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `${what}: the server could not store it now, retry later` });
    }
    return res;
  };
}

/** Rejects oversized batches before they are parsed, with PAYLOAD_TOO_LARGE naming the limit. */
const batchSizeGuard = collectorProcedure.use(storageErrors('batch not stored')).use(async ({ getRawInput, next }) => {
  const raw = (await getRawInput()) as Record<string, unknown> | undefined;
  const limits: [string, number][] = [
    ['flows', BATCH_LIMITS.maxFlows],
    ['l7', BATCH_LIMITS.maxL7Events],
    ['histograms', BATCH_LIMITS.maxHistograms],
    ['l7Aggregates', BATCH_LIMITS.maxL7Aggregates],
    ['endpoints', MAX_BATCH_ENDPOINTS],
  ];
  for (const [key, max] of limits) {
    const v = raw?.[key];
    if (Array.isArray(v) && v.length > max) {
      throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `${key}: ${v.length} items exceed the limit of ${max} per batch` });
    }
  }
  // (flows as columns, batch schema 6: their row count)
  const columnRows = (raw?.flowColumns as { rows?: unknown } | undefined)?.rows;
  if (typeof columnRows === 'number' && columnRows > BATCH_LIMITS.maxFlows)
    throw new TRPCError({
      code: 'PAYLOAD_TOO_LARGE',
      message: `flows: ${columnRows} items exceed the limit of ${BATCH_LIMITS.maxFlows} per batch`,
    });
  return next();
});

export const ingestRouter = router({
  register: collectorProcedure
    .use(storageErrors('registration not stored'))
    .input(RegisterInput)
    .mutation(async ({ ctx, input }) => {
      const c = await registerCollector(ctx.db.prisma, ctx.collector.id, input);
      return { collectorId: c.id, name: c.name, serverVersion: ctx.version };
    }),

  push: batchSizeGuard.input(IngestBatch).mutation(async ({ ctx, input }) => {
    // Only records inside [now − raw retention, now + skew] are stored: the rest are counted, not partitioned.
    const { result, batch, rejected } = await storeReceivedBatch(ctx.db.pool, ctx.collector.id, input);
    if (result.stored) ctx.onIngest?.({ collectorId: ctx.collector.id, flows: result.flows, l7: result.l7 });
    // Metrics count each stored batch exactly once: a replayed batch id (stored: false) adds nothing.
    if (result.stored) {
      // Hubble's metrics are defined over records: the stored rows as flow and L7 objects.
      recordStoredBatch(ctx.collector.name, {
        flows: decodeFlowRows(batch.flows, batch.endpoints, batch.nodeName),
        l7: decodeL7Rows(batch.l7, batch.endpoints),
        l7Aggregates: decodeL7Aggregates(batch.l7Aggregates, batch.endpoints),
        histograms: batch.histograms,
      });
      withProcessMetrics((m) => m.recordIngestedRecords(rejected, sanitizedRecords(batch)));
    }
    return { ...result, rejected };
  }),
});
