/**
 * The connection drawer's exchange list: the exchange that was clicked and the connection's other exchanges
 * a page at a time around it (packages/db flow-exchanges.ts). The connection's L4 record and TCP statistics
 * come from flows.detail.
 */
import { flowExchanges } from '@sextant/db';
import { EpochMs } from '@sextant/shared';
import { z } from 'zod';
import { router, userProcedure } from '../trpc';

export const ExchangesInput = z.object({
  flowId: z.uuid(),
  /** Epoch ms near the connection (the row's time): bounds the partitions read to a day either side. */
  time: EpochMs,
  /** The clicked exchange: the page holding it is returned unless `offset` is given. */
  eventId: z.uuid().nullish(),
  offset: z.number().int().min(0).max(10_000_000).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

export const drawerRouter = router({
  exchanges: userProcedure
    .input(ExchangesInput)
    .query(({ ctx, input }) =>
      flowExchanges(ctx.db.pool, input.flowId, input.time, { eventId: input.eventId, offset: input.offset, limit: input.limit }),
    ),
});
