/**
 * Collectors: health listing for users, token creation and revocation for admins, and the collectors' own
 * control poll (on-demand capture deadline).
 */
import { captureDeadline, createNamedCollector, listCollectors, revokeCollector, type CollectorSummary } from '@sextant/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { adminProcedure, collectorProcedure, router, userProcedure } from '../trpc';

function view(c: CollectorSummary) {
  return {
    id: c.id,
    name: c.name,
    tokenPrefix: c.tokenPrefix,
    createdAt: c.createdAt.getTime(),
    revokedAt: c.revokedAt?.getTime() ?? null,
    hostname: c.hostname,
    version: c.version,
    kernel: c.kernel,
    lastSeenAt: c.lastSeenAt?.getTime() ?? null,
    health: c.lastHealth as Record<string, unknown> | null,
  };
}

export const collectorsRouter = router({
  list: userProcedure.query(async ({ ctx }) => (await listCollectors(ctx.db.prisma)).map(view)),

  create: adminProcedure
    .input(
      z.object({
        name: z
          .string()
          .min(1)
          .max(100)
          .regex(/^[\w.-]+$/, 'letters, digits, dot, dash and underscore only'),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const created = await createNamedCollector(ctx.db.prisma, input.name, ctx.user.id);
      if (!created) throw new TRPCError({ code: 'CONFLICT', message: `a collector named ${input.name} exists` });
      // The token is shown once; only its hash is stored.
      return { collector: view(created.collector), token: created.token };
    }),

  revoke: adminProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    await revokeCollector(ctx.db.prisma, input.id);
    return { ok: true as const };
  }),

  /**
   * Polled by every collector (every 2 s): record every HTTP exchange until `recordAllUntil` (epoch ms, the
   * latest expiry of an open capture request, e.g. a running live tail), or sample as configured when null.
   * Read from the database, so every server replica answers the same.
   */
  control: collectorProcedure.query(async ({ ctx }) => ({ recordAllUntil: await captureDeadline(ctx.db.pool) })),
});
