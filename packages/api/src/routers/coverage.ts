/**
 * Coverage transparency (docs/l7-line-rate.md): how many HTTP exchanges a window held (rollups) against how
 * many were kept as records, by why they were kept. Views that show records show this next to them.
 */
import { l7Coverage, workloadCoverage } from '@sextant/db';
import { z } from 'zod';
import { TimeWindow } from '../inputs';
import { router, userProcedure } from '../trpc';

export const L7CoverageInput = z.object({
  window: TimeWindow.prefault({}),
  /** Only exchanges with this service at either end (the map's service panel). */
  service: z.string().min(1).max(253).optional(),
  namespace: z.string().max(253).optional(),
  /** Also Sextant's own services; left out by default, as on the map. */
  includeSelf: z.boolean().default(false),
});

export const coverageRouter = router({
  l7: userProcedure.input(L7CoverageInput).query(({ ctx, input }) =>
    l7Coverage(ctx.db.pool, {
      ...input.window,
      service: input.service,
      namespace: input.namespace,
      includeSelf: input.includeSelf,
    }),
  ),
  /** L7 decode coverage per workload (issue 17): connections decoded / not decoded, by class. */
  workloads: userProcedure.input(L7CoverageInput).query(({ ctx, input }) =>
    workloadCoverage(ctx.db.pool, {
      ...input.window,
      service: input.service,
      namespace: input.namespace,
      includeSelf: input.includeSelf,
    }),
  ),
});
