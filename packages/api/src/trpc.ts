/**
 * tRPC setup and one procedure builder per kind of caller: public, collector (token), user and admin
 * (session cookie, or a session token or personal API token `sxu_…` as Bearer for the CLI). Validation
 * errors name the zod path.
 */
import { apiTokenUser, authenticateCollector, FilterError, sessionUser } from '@sextant/db';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import type { Context } from './context';

function describeZod(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    return {
      ...shape,
      message: zod ? `invalid input: ${describeZod(zod)}` : shape.message,
      data: {
        ...shape.data,
        zodIssues: zod ? zod.issues.map((i) => ({ path: i.path.map(String), message: i.message })) : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Maps domain input errors (bad filter, bad cursor) to BAD_REQUEST. */
const domainErrors = t.middleware(async ({ next }) => {
  const res = await next();
  if (!res.ok && res.error.cause instanceof FilterError) {
    const cause = res.error.cause;
    throw new TRPCError({ code: 'BAD_REQUEST', message: `${cause.path}: ${cause.message}`, cause });
  }
  return res;
});

export const publicProcedure = t.procedure.use(domainErrors);

export const collectorProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const collector = ctx.bearer ? await authenticateCollector(ctx.db.prisma, ctx.bearer) : null;
  if (!collector) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid collector token is required (Authorization: Bearer sxc_…)' });
  return next({ ctx: { ...ctx, collector } });
});

export const userProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const token = ctx.sessionToken ?? (ctx.bearer?.startsWith('sxs_') ? ctx.bearer : null);
  const apiToken = !token && ctx.bearer?.startsWith('sxu_') ? ctx.bearer : null;
  const user = token ? await sessionUser(ctx.db.prisma, token) : apiToken ? await apiTokenUser(ctx.db.prisma, apiToken) : null;
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: apiToken ? 'API token unknown or revoked' : 'sign in first' });
  return next({ ctx: { ...ctx, user, sessionToken: token } });
});

export const adminProcedure = userProcedure.use(async ({ ctx, next }) => {
  if (ctx.user.role !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: 'admin role required' });
  return next();
});
