/**
 * Sign-in for UI users: session token in an httpOnly cookie (also returned for CLI use as Bearer), Secure
 * when the client reached us over HTTPS. Failed sign-ins are throttled per account and per client address
 * (429 with Retry-After).
 */
import { login, logout } from '@sextant/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { SESSION_COOKIE, type Context } from '../context';
import { edgeConfig } from '../http/config';
import { LoginThrottle } from '../http/login-throttle';
import { publicProcedure, router, userProcedure } from '../trpc';

export const loginThrottle = new LoginThrottle(() => {
  const c = edgeConfig();
  return {
    maxFailuresPerAccount: c.SEXTANT_LOGIN_MAX_FAILURES_ACCOUNT,
    maxFailuresPerAddress: c.SEXTANT_LOGIN_MAX_FAILURES_ADDRESS,
    windowMs: c.SEXTANT_LOGIN_WINDOW_SECONDS * 1000,
  };
});

function sessionCookie(ctx: Context, value: string, maxAge: number): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAge}${ctx.peer.secure ? '; Secure' : ''}`;
}

/** Text a person can type: no lone surrogates (PostgreSQL cannot store them) and, for emails, no control characters. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const typeable = (s: string) => !LONE_SURROGATE.test(s);
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
const LoginInput = z.object({
  // Not z.email(): local accounts such as admin@localhost are valid sign-in names.
  email: z
    .string()
    .trim()
    .min(3)
    .max(254)
    .refine((s) => typeable(s) && !CONTROL.test(s), 'not a valid sign-in name'),
  password: z.string().min(1).max(1024).refine(typeable, 'not valid text'),
});

export const authRouter = router({
  login: publicProcedure.input(LoginInput).mutation(async ({ ctx, input }) => {
    const account = input.email.toLowerCase();
    const wait = loginThrottle.begin(account, ctx.peer.address);
    if (wait > 0) {
      ctx.setHeader('retry-after', String(wait));
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `too many failed sign-ins; try again in ${wait} s` });
    }
    const s = await login(ctx.db.prisma, input.email, input.password);
    if (!s) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'wrong email or password' });
    loginThrottle.succeeded(account, ctx.peer.address);
    const maxAge = Math.floor((s.expiresAt.getTime() - Date.now()) / 1000);
    ctx.setCookie(sessionCookie(ctx, s.token, maxAge));
    return { user: s.user, token: s.token, expiresAt: s.expiresAt.getTime() };
  }),

  logout: userProcedure.mutation(async ({ ctx }) => {
    if (ctx.sessionToken) await logout(ctx.db.prisma, ctx.sessionToken);
    ctx.setCookie(sessionCookie(ctx, '', 0));
    return { ok: true as const };
  }),

  me: userProcedure.query(({ ctx }) => ctx.user),
});
