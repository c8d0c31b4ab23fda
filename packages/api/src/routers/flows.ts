/** Flow and L7 search (Hubble observe semantics, keyset pagination, newest first). */
import { searchFlows } from '@sextant/db';
import { SearchFlowsInput } from '../inputs';
import { router, userProcedure } from '../trpc';

export const flowsRouter = router({
  search: userProcedure.input(SearchFlowsInput).query(({ ctx, input }) =>
    searchFlows(ctx.db.pool, { filter: input.filter, ...input.window, limit: input.limit, cursor: input.cursor }),
  ),
});
