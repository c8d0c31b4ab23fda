/**
 * Flow and L7 search (Hubble observe semantics, keyset pagination, newest first), the live tail (an SSE
 * subscription whose event ids are (time, id) positions, so a reconnecting client resumes where it stopped)
 * and the detail of one connection.
 */
import { flowDetail, recordId, searchFlows, tailFlows, type FlowRecord } from '@sextant/db';
import { FlowQueryFilter } from '@sextant/shared';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { SearchFlowsInput } from '../inputs';
import { ingestSignal } from '../live';
import { router, userProcedure } from '../trpc';

/** Late records (a connection reported a few seconds after it started) are still caught this far back. */
export const TAIL_LOOKBACK_US = 15_000_000n;
const TAIL_POLL_MS = 1000;
const TAIL_BATCH = 500;

const Position = z.string().regex(/^\d{1,19}\|[0-9a-f-]{36}$/i, 'expected "<epoch µs>|<record id>"');

export const TailInput = z.object({
  filter: FlowQueryFilter.default({ allow: [], deny: [] }),
  /** Start after this epoch millisecond when there is no lastEventId (default: now). */
  since: z.number().min(0).optional(),
  /** Set by httpSubscriptionLink on reconnect: the id of the last event the client received. */
  lastEventId: Position.nullish(),
});

const key = (tUs: bigint, id: string) => ({ tUs, id });
const after = (a: { tUs: bigint; id: string }, b: { tUs: bigint; id: string }) => a.tUs > b.tUs || (a.tUs === b.tUs && a.id > b.id);

export const flowsRouter = router({
  search: userProcedure.input(SearchFlowsInput).query(({ ctx, input }) =>
    searchFlows(ctx.db.pool, { filter: input.filter, ...input.window, limit: input.limit, cursor: input.cursor }),
  ),

  tail: userProcedure.input(TailInput).subscription(async function* ({ ctx, input, signal }) {
    // Everything at or before `floor` has been delivered; `seen` covers the lookback window after it.
    let floor = input.lastEventId
      ? key(BigInt(input.lastEventId.split('|')[0] as string), input.lastEventId.split('|')[1] as string)
      : key(BigInt(Math.floor((input.since ?? Date.now()) * 1000)), 'ffffffff-ffff-ffff-ffff-ffffffffffff');
    let position = floor.tUs;
    const seen = new Map<string, bigint>();
    while (!signal?.aborted) {
      const lower = position - TAIL_LOOKBACK_US;
      const items = await tailFlows(ctx.db.pool, { filter: input.filter, afterUs: String(lower > 0n ? lower : 0n), untilUs: String(BigInt(Date.now()) * 1000n), limit: TAIL_BATCH });
      for (const it of items) {
        const id = recordId(it.record);
        const k = key(BigInt(it.tUs), id);
        if (seen.has(id) || !after(k, floor)) continue;
        seen.set(id, k.tUs);
        if (k.tUs > position) position = k.tUs;
        yield tracked<FlowRecord>(`${it.tUs}|${id}`, it.record);
      }
      // Forget ids that fell out of the lookback window; the floor keeps them from coming back.
      for (const [id, t] of seen) if (t < position - TAIL_LOOKBACK_US) seen.delete(id);
      const oldest = position - TAIL_LOOKBACK_US;
      if (oldest > floor.tUs) floor = key(oldest, '');
      if (items.length < TAIL_BATCH) await ingestSignal.wait(TAIL_POLL_MS, signal);
    }
  }),

  detail: userProcedure
    .input(z.object({ flowId: z.uuid(), time: z.number().min(0) }))
    .query(({ ctx, input }) => flowDetail(ctx.db.pool, input.flowId, input.time)),
});
