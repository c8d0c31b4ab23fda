/**
 * Administration (admin role): users — invite (a one-time password returned once), role change, disable and
 * enable (a new one-time password) — and every user's API tokens, listed and revocable. Thin: the work is in
 * packages/db admin/accounts.ts.
 */
import {
  AccountChangeError,
  disableUser,
  enableUser,
  inviteUser,
  listAllApiTokens,
  listUsers,
  revokeAnyApiToken,
  setUserRole,
  type UserSummary,
} from '@sextant/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { adminProcedure, router } from '../trpc';

const Role = z.enum(['viewer', 'admin']);
const Email = z
  .string()
  .trim()
  .min(3)
  .max(254)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .regex(/^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+$/, 'expected name@host');

const userView = (u: UserSummary) => ({ ...u, createdAt: u.createdAt.getTime() });

async function change<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AccountChangeError)
      throw new TRPCError({ code: err.reason === 'not-found' ? 'NOT_FOUND' : 'CONFLICT', message: err.message });
    throw err;
  }
}

const notSelf = (ctx: { user: { id: string } }, userId: string, what: string) => {
  if (ctx.user.id === userId) throw new TRPCError({ code: 'CONFLICT', message: `you cannot ${what} your own account` });
};

export const adminRouter = router({
  users: router({
    list: adminProcedure.query(async ({ ctx }) => (await listUsers(ctx.db.prisma)).map(userView)),

    invite: adminProcedure.input(z.object({ email: Email, role: Role.default('viewer') })).mutation(async ({ ctx, input }) => {
      const r = await inviteUser(ctx.db.prisma, input.email, input.role);
      if (!r) throw new TRPCError({ code: 'CONFLICT', message: `a user ${input.email.toLowerCase()} exists` });
      return { user: userView(r.user), password: r.password };
    }),

    setRole: adminProcedure.input(z.object({ id: z.uuid(), role: Role })).mutation(async ({ ctx, input }) => {
      if (input.role !== 'admin') notSelf(ctx, input.id, 'remove the admin role from');
      await change(() => setUserRole(ctx.db.prisma, input.id, input.role));
      return { ok: true as const };
    }),

    disable: adminProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
      notSelf(ctx, input.id, 'disable');
      await change(() => disableUser(ctx.db.prisma, input.id));
      return { ok: true as const };
    }),

    enable: adminProcedure
      .input(z.object({ id: z.uuid() }))
      .mutation(async ({ ctx, input }) => change(() => enableUser(ctx.db.prisma, input.id))),
  }),

  tokens: router({
    list: adminProcedure.query(async ({ ctx }) =>
      (await listAllApiTokens(ctx.db.prisma)).map((t) => ({
        ...t,
        createdAt: t.createdAt.getTime(),
        lastUsedAt: t.lastUsedAt?.getTime() ?? null,
        revokedAt: t.revokedAt?.getTime() ?? null,
      })),
    ),

    revoke: adminProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
      if (!(await revokeAnyApiToken(ctx.db.prisma, input.id))) throw new TRPCError({ code: 'NOT_FOUND', message: 'no such token' });
      return { ok: true as const };
    }),
  }),
});
