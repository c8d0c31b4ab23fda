/** Service map edges and nodes for a window, from rollups. */
import { serviceMap } from '@sextant/db';
import { ServiceMapInput } from '../inputs';
import { router, userProcedure } from '../trpc';

export const servicemapRouter = router({
  get: userProcedure.input(ServiceMapInput).query(({ ctx, input }) =>
    serviceMap(ctx.db.pool, {
      ...input.window,
      namespaces: input.namespaces,
      protocols: input.protocols,
      errorsOnly: input.errorsOnly,
      includeSelf: input.includeSelf,
    }),
  ),
});
