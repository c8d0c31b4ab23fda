/**
 * Hubble interop and the CLI's status: import of `hubble observe -o jsonpb` lines (admin only), export of
 * flows as such lines, and `hubble status`-like figures. Imported batches are stored under one collector
 * named `hubble-import` (its token is never shown), with batch ids derived from the lines' content so a
 * re-import of the same file stores nothing twice; records whose id is already stored are left out, so an
 * overlapping or appended capture adds only what is new.
 */
import { createHash } from 'node:crypto';
import { applyWindow, createCollectorToken, existingRecordIds, ingestWindow, rawRetentionDays, searchFlows, storeBatch, windowDays } from '@sextant/db';
import { BATCH_LIMITS, fromHubbleJson, HubbleParseError, text, toHubbleJsonLine, type Flow, type L7Event } from '@sextant/shared';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { Context } from '../context';
import { SearchFlowsInput } from '../inputs';
import { adminProcedure, router, userProcedure } from '../trpc';
import { storageErrors } from './ingest';

export const IMPORT_COLLECTOR = 'hubble-import';
/** Collectors not heard from for this long count as disconnected (as on the Collectors page). */
const CONNECTED_MS = 60_000;
const RATE_WINDOW_MS = 60_000;

export const ImportInput = z.object({
  /** Raw jsonpb lines; blank lines are ignored. (NUL and lone surrogates in them are replaced, as in ingest.) */
  lines: z.array(text().max(1_000_000)).min(1).max(5_000),
  /** Line number of lines[0] in the file, for error messages. */
  firstLine: z.number().int().min(1).max(1e12).default(1),
});

/** A UUID from the SHA-256 of the batch's lines: the same lines always make the same batch id. */
export function importBatchId(lines: string[]): string {
  const h = createHash('sha256').update('sextant hubble import v1\n').update(lines.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function importCollectorId(ctx: Context, userId: string): Promise<string> {
  const existing = await ctx.db.prisma.collector.findUnique({ where: { name: IMPORT_COLLECTOR } });
  if (existing) return existing.id;
  try {
    return (await createCollectorToken(ctx.db.prisma, IMPORT_COLLECTOR, userId)).collector.id;
  } catch (err) {
    // Two imports racing to create it: the other one won.
    const again = await ctx.db.prisma.collector.findUnique({ where: { name: IMPORT_COLLECTOR } });
    if (again) return again.id;
    throw err;
  }
}

export const hubbleRouter = router({
  import: adminProcedure.use(storageErrors('import not stored')).input(ImportInput).mutation(async ({ ctx, input }) => {
    const parsedFlows: Flow[] = [];
    const parsedL7: L7Event[] = [];
    let skipped = 0;
    try {
      input.lines.forEach((line, i) => {
        if (!line.trim()) return;
        const r = fromHubbleJson(line, input.firstLine + i);
        if (r.kind === 'flow') parsedFlows.push(r.flow);
        else if (r.kind === 'l7') parsedL7.push(r.event);
        else skipped++;
      });
    } catch (err) {
      if (err instanceof HubbleParseError) throw new TRPCError({ code: 'BAD_REQUEST', message: err.message, cause: err });
      throw err;
    }
    if (parsedFlows.length > BATCH_LIMITS.maxFlows || parsedL7.length > BATCH_LIMITS.maxL7Events) {
      throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `at most ${BATCH_LIMITS.maxFlows} flows per import batch` });
    }
    const batchId = importBatchId(input.lines);
    const collectorId = await importCollectorId(ctx, ctx.user.id);
    // A capture is history: older records than retention are taken (the maintenance job drops them), records
    // from the future are not, and one batch may touch no more days than ingest's window holds.
    const window = ingestWindow(rawRetentionDays());
    const windowed = applyWindow({ schemaVersion: 1, batchId, sentAt: Date.now(), flows: parsedFlows, l7: parsedL7, histograms: [] }, { minMs: 0, maxMs: window.maxMs });
    const { flows, l7 } = windowed.batch;
    const known = await existingRecordIds(ctx.db.pool, { flows: flows.map((f) => ({ id: f.id, time: f.time })), l7: l7.map((e) => ({ id: e.id, time: e.time })) });
    const fresh = <T extends { id: string }>(items: T[], stored: Set<string>) => {
      const seen = new Set<string>();
      return items.filter((r) => !stored.has(r.id) && !seen.has(r.id) && seen.add(r.id));
    };
    const newFlows = fresh(flows, known.flows);
    const newL7 = fresh(l7, known.l7);
    const duplicates = flows.length + l7.length - newFlows.length - newL7.length;
    const result = await storeBatch(ctx.db.pool, collectorId, { schemaVersion: 1, batchId, sentAt: Date.now(), flows: newFlows, l7: newL7, histograms: [] }, { maxDays: windowDays(window) });
    if (result.stored) ctx.onIngest?.({ collectorId, flows: result.flows, l7: result.l7 });
    return { batchId, stored: result.stored, flows: newFlows.length, l7: newL7.length, duplicates: result.stored ? duplicates : 0, skipped, rejected: windowed.rejected };
  }),

  /** Flows matching a search as `hubble observe -o jsonpb` lines, newest first, paged like flows.search. */
  export: userProcedure.input(SearchFlowsInput).query(async ({ ctx, input }) => {
    const page = await searchFlows(ctx.db.pool, { filter: input.filter, ...input.window, limit: input.limit, cursor: input.cursor });
    return { lines: page.items.map((r) => toHubbleJsonLine(r.kind === 'flow' ? r.flow : r.event)), nextCursor: page.nextCursor };
  }),

  /** What `hubble status` answers: is the server up, how many collectors report, flows/s, lost events. */
  status: userProcedure.query(async ({ ctx }) => {
    const now = Date.now();
    const collectors = await ctx.db.prisma.collector.findMany({ where: { name: { not: IMPORT_COLLECTOR } } });
    const active = collectors.filter((c) => !c.revokedAt);
    const connected = active.filter((c) => c.lastSeenAt && now - c.lastSeenAt.getTime() <= CONNECTED_MS);
    const lost = active.reduce((sum, c) => sum + Number((c.lastHealth as { lostEvents?: unknown } | null)?.lostEvents ?? 0), 0);
    const rate = await ctx.db.prisma.ingestReceipt.aggregate({
      _sum: { flows: true, l7Events: true },
      where: { receivedAt: { gt: new Date(now - RATE_WINDOW_MS) }, collector: { name: { not: IMPORT_COLLECTOR } } },
    });
    const received = (rate._sum.flows ?? 0) + (rate._sum.l7Events ?? 0);
    return {
      version: ctx.version,
      collectors: { total: active.length, connected: connected.length, revoked: collectors.length - active.length },
      flowsPerSecond: received / (RATE_WINDOW_MS / 1000),
      lostEvents: lost,
      rateWindowSeconds: RATE_WINDOW_MS / 1000,
    };
  }),
});
