/** Personal API tokens (`sxu_…`) for the CLI: each user creates, lists and revokes their own. */
import { createApiToken, listApiTokens, revokeApiToken, type ApiTokenSummary } from '@sextant/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { router, userProcedure } from '../trpc';

function view(t: ApiTokenSummary) {
  return {
    id: t.id,
    name: t.name,
    tokenPrefix: t.tokenPrefix,
    createdAt: t.createdAt.getTime(),
    lastUsedAt: t.lastUsedAt?.getTime() ?? null,
    revokedAt: t.revokedAt?.getTime() ?? null,
  };
}

export const tokensRouter = router({
  list: userProcedure.query(async ({ ctx }) => (await listApiTokens(ctx.db.prisma, ctx.user.id)).map(view)),

  /**
   * The token acts with the creator's role; it is returned once, only its hash is stored. Only a signed-in
   * session mints tokens: a leaked token must not be able to make copies of itself that outlive its
   * revocation.
   */
  create: userProcedure.input(z.object({ name: z.string().trim().min(1).max(100) })).mutation(async ({ ctx, input }) => {
    if (!ctx.viaSession)
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: 'API tokens cannot create tokens: create one signed in (sextant token create --email …, or the UI)',
      });
    const { token, apiToken } = await createApiToken(ctx.db.prisma, ctx.user.id, input.name);
    return { token: view(apiToken), secret: token, role: ctx.user.role };
  }),

  revoke: userProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    if (!(await revokeApiToken(ctx.db.prisma, ctx.user.id, input.id)))
      throw new TRPCError({ code: 'NOT_FOUND', message: 'no such token of yours' });
    return { ok: true as const };
  }),
});
