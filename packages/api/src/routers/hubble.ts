/**
 * Hubble interop and the CLI's status: import of `hubble observe -o jsonpb` lines (admin only), export of
 * flows as such lines, and `hubble status`-like figures. Imported batches are stored under one collector
 * named `hubble-import` (its token is never shown), with batch ids derived from the lines' content so a
 * re-import of the same file stores nothing twice; records whose id is already stored are left out, so an
 * overlapping or appended capture adds only what is new.
 */
import { createHash } from 'node:crypto';
import { collectorsStatus, searchFlows, storeImportedRecords } from '@sextant/db';
import { BATCH_LIMITS, fromHubbleJson, HubbleParseError, text, toHubbleJsonLine, type Flow, type L7Event } from '@sextant/shared';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { SearchFlowsInput } from '../inputs';
import { adminProcedure, router, userProcedure } from '../trpc';
import { storageErrors } from './ingest';

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

export const hubbleRouter = router({
  import: adminProcedure
    .use(storageErrors('import not stored'))
    .input(ImportInput)
    .mutation(async ({ ctx, input }) => {
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
      const r = await storeImportedRecords(ctx.db, ctx.user.id, { batchId, flows: parsedFlows, l7: parsedL7 });
      if (r.result.stored) ctx.onIngest?.({ collectorId: r.collectorId, flows: r.result.flows, l7: r.result.l7 });
      return {
        batchId,
        stored: r.result.stored,
        flows: r.flows,
        l7: r.l7,
        duplicates: r.result.stored ? r.duplicates : 0,
        skipped,
        rejected: r.rejected,
      };
    }),

  /** Flows matching a search as `hubble observe -o jsonpb` lines, newest first, paged like flows.search. */
  export: userProcedure.input(SearchFlowsInput).query(async ({ ctx, input }) => {
    const page = await searchFlows(ctx.db.pool, { filter: input.filter, ...input.window, limit: input.limit, cursor: input.cursor });
    return { lines: page.items.map((r) => toHubbleJsonLine(r.kind === 'flow' ? r.flow : r.event)), nextCursor: page.nextCursor };
  }),

  /** What `hubble status` answers: is the server up, how many collectors report, flows/s, lost events. */
  status: userProcedure.query(async ({ ctx }) => ({ version: ctx.version, ...(await collectorsStatus(ctx.db.prisma)) })),
});
