/** Dashboard time series (rates, error ratio, p50/p95/p99) and the known services list. */
import { timeSeries } from '@sextant/db';
import { z } from 'zod';
import { TimeSeriesInput } from '../inputs';
import { router, userProcedure } from '../trpc';

export const dashboardsRouter = router({
  timeSeries: userProcedure.input(TimeSeriesInput).query(({ ctx, input }) =>
    timeSeries(ctx.db.pool, { ...input.window, stepSeconds: input.stepSeconds, service: input.service, namespace: input.namespace, direction: input.direction, protocols: input.protocols }),
  ),

  services: userProcedure
    .input(z.object({ prefix: z.string().max(253).default(''), limit: z.number().int().min(1).max(500).default(50) }))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.prisma.service.findMany({
        where: { name: { startsWith: input.prefix } },
        orderBy: [{ lastSeen: 'desc' }, { name: 'asc' }],
        take: input.limit,
      });
      return rows.map((s) => ({ name: s.name, namespace: s.namespace, kind: s.kind, lastSeen: s.lastSeen.getTime() }));
    }),
});
