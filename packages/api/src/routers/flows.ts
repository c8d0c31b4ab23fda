/**
 * Flow and L7 search (Hubble observe semantics, keyset pagination, newest first), the live tail (an SSE
 * subscription whose event ids are ingest-order cursors, so a reconnecting client resumes where it stopped)
 * and the detail of one connection.
 */
import {
  cursorFromEventId,
  flowDetail,
  isTailEventId,
  searchFlows,
  TAIL_EVENT_ID,
  tailPage,
  tailStart,
  type FlowRecord,
  type TailCursor,
} from '@sextant/db';
import { EpochMs, FlowQueryFilter, withoutSelf } from '@sextant/shared';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { holdCapture, type CaptureHold } from '../capture-hold';
import { SearchFlowsInput } from '../inputs';
import { ingestSignal } from '../live';
import { router, userProcedure } from '../trpc';

/** Idle re-check of the database (other server processes may ingest too: no wake-up from them). */
const TAIL_POLL_MS = 1000;
/**
 * At most one read per this many ms while caught up, however many batches wake the tail: with hundreds of
 * small batches a second, reads are batched instead of one per stored batch. Full pages read on at once.
 */
const TAIL_MIN_INTERVAL_MS = 200;
const TAIL_BATCH = 500;

export const TailInput = z.object({
  filter: FlowQueryFilter.default({ allow: [], deny: [] }),
  /** Also deliver records already stored whose time is after this epoch millisecond (default: none). */
  since: EpochMs.optional(),
  /** Set by httpSubscriptionLink on reconnect: the id of the last event the client received. */
  lastEventId: z
    .string()
    .regex(TAIL_EVENT_ID, 'expected a live-tail event id')
    .refine(isTailEventId, 'live-tail event id out of range')
    .nullish(),
  /** Also Sextant's own traffic; hidden by default. */
  includeSelf: z.boolean().default(false),
});

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export const flowsRouter = router({
  search: userProcedure.input(SearchFlowsInput).query(({ ctx, input }) =>
    searchFlows(ctx.db.pool, {
      filter: input.includeSelf ? input.filter : withoutSelf(input.filter),
      ...input.window,
      limit: input.limit,
      cursor: input.cursor,
    }),
  ),

  /**
   * Records already stored after `since` (oldest first), then every record stored from now on in ingest order
   * (packages/db flow-tail.ts). The event id is the cursor, so a reconnect resumes exactly after it.
   */
  tail: userProcedure.input(TailInput).subscription(async function* ({ ctx, input, signal }) {
    const filter = input.includeSelf ? input.filter : withoutSelf(input.filter);
    // While the tail runs, collectors record every exchange (on-demand capture, renewed, closed at the end);
    // the filter above still decides what this tail delivers. Opened once the first read has accepted the
    // filter, so a refused filter starts no capture.
    let capture: CaptureHold | null = null;
    try {
      let cursor: TailCursor = input.lastEventId ? cursorFromEventId(input.lastEventId) : await tailStart(ctx.db.pool, input.since);
      while (!signal?.aborted) {
        const started = Date.now();
        const generation = ingestSignal.generation;
        const page = await tailPage(ctx.db.pool, filter, cursor, TAIL_BATCH);
        capture ??= await holdCapture(ctx.db.pool, { userId: ctx.user.id, reason: 'live tail', filter: input.filter }, ctx.capture);
        for (const it of page.items) yield tracked<FlowRecord>(it.eventId, it.record);
        cursor = page.next;
        if (page.full) continue;
        await ingestSignal.wait(TAIL_POLL_MS, signal, generation);
        const since = Date.now() - started;
        if (since < TAIL_MIN_INTERVAL_MS) await sleep(TAIL_MIN_INTERVAL_MS - since, signal);
      }
    } finally {
      await capture?.release();
    }
  }),

  detail: userProcedure
    .input(z.object({ flowId: z.uuid(), time: EpochMs }))
    .query(({ ctx, input }) => flowDetail(ctx.db.pool, input.flowId, input.time)),
});
