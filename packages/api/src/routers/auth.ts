/** Sign-in for UI users: session token in an httpOnly cookie (also returned for CLI use as Bearer). */
import { login, logout } from '@sextant/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { SESSION_COOKIE } from '../context';
import { publicProcedure, router, userProcedure } from '../trpc';

export const authRouter = router({
  login: publicProcedure
    // Not z.email(): local accounts such as admin@localhost are valid sign-in names.
    .input(z.object({ email: z.string().trim().min(3).max(254), password: z.string().min(1).max(1024) }))
    .mutation(async ({ ctx, input }) => {
      const s = await login(ctx.db.prisma, input.email, input.password);
      if (!s) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'wrong email or password' });
      const maxAge = Math.floor((s.expiresAt.getTime() - Date.now()) / 1000);
      ctx.setCookie(`${SESSION_COOKIE}=${s.token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAge}`);
      return { user: s.user, token: s.token, expiresAt: s.expiresAt.getTime() };
    }),

  logout: userProcedure.mutation(async ({ ctx }) => {
    if (ctx.sessionToken) await logout(ctx.db.prisma, ctx.sessionToken);
    ctx.setCookie(`${SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0`);
    return { ok: true as const };
  }),

  me: userProcedure.query(({ ctx }) => ctx.user),
});
