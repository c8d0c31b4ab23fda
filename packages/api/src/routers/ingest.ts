/** Ingest procedures for collectors: register, heartbeat and batches (idempotent by batch id). */
import { registerCollector, storeBatch } from '@sextant/db';
import { BATCH_LIMITS, CollectorHealthReport, IngestBatch, MAX_BATCH_ENDPOINTS, RegisterInput, WIRE_SCHEMA_VERSIONS } from '@sextant/shared';
import { TRPCError } from '@trpc/server';
import { recordStoredBatch } from '../metrics/process-metrics';
import { collectorProcedure, router } from '../trpc';

/** Rejects oversized batches before they are parsed, with PAYLOAD_TOO_LARGE naming the limit. */
const batchSizeGuard = collectorProcedure.use(async ({ getRawInput, next }) => {
  const raw = (await getRawInput()) as Record<string, unknown> | undefined;
  const limits: [string, number][] = [['flows', BATCH_LIMITS.maxFlows], ['l7', BATCH_LIMITS.maxL7Events], ['histograms', BATCH_LIMITS.maxHistograms], ['endpoints', MAX_BATCH_ENDPOINTS]];
  for (const [key, max] of limits) {
    const v = raw?.[key];
    if (Array.isArray(v) && v.length > max) {
      throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `${key}: ${v.length} items exceed the limit of ${max} per batch` });
    }
  }
  return next();
});

export const ingestRouter = router({
  register: collectorProcedure.input(RegisterInput).mutation(async ({ ctx, input }) => {
    const c = await registerCollector(ctx.db.prisma, ctx.collector.id, input);
    // The batch schemas this server takes: a collector sends the newest one both sides know.
    return { collectorId: c.id, name: c.name, serverVersion: ctx.version, wireSchemaVersions: [...WIRE_SCHEMA_VERSIONS] };
  }),

  heartbeat: collectorProcedure.input(CollectorHealthReport).mutation(async ({ ctx, input }) => {
    await ctx.db.prisma.collector.update({
      where: { id: ctx.collector.id },
      data: { lastSeenAt: new Date(), lastHealth: input, hostname: input.hostname, version: input.version, kernel: input.kernel },
    });
    return { ok: true as const, serverTime: Date.now() };
  }),

  push: batchSizeGuard.input(IngestBatch).mutation(async ({ ctx, input }) => {
    const result = await storeBatch(ctx.db.pool, ctx.collector.id, input);
    if (result.stored) ctx.onIngest?.({ collectorId: ctx.collector.id, flows: result.flows, l7: result.l7 });
    // Metrics count each stored batch exactly once: a replayed batch id (stored: false) adds nothing.
    if (result.stored) recordStoredBatch(ctx.collector.name, input);
    return result;
  }),
});
