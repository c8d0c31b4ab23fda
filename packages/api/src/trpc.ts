/**
 * tRPC setup and one procedure builder per kind of caller: public, collector (token), user and admin
 * (session cookie, or a session token or personal API token `sxu_…` as Bearer for the CLI). Validation
 * errors name the zod path. User calls are limited per user (UserSlots) and their queries run on the
 * database's query pool, whose statements time out (SEXTANT_QUERY_TIMEOUT_MS).
 */
import { authenticateCollector, FilterError } from '@sextant/db';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { callerUser, type Context } from './context';
import { edgeConfig } from './http/config';
import { UserSlots } from './http/user-slots';

function describeZod(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * What a client reads of an unexpected failure: its kind, never the raw text of a database or system
 * error (table names, values, addresses), which goes to the server's log instead.
 */
function internalMessage(error: TRPCError): string | undefined {
  if (error.code !== 'INTERNAL_SERVER_ERROR') return undefined;
  const cause = error.cause as { code?: unknown; severity?: unknown; name?: unknown } | undefined;
  if (!cause) return undefined;
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  let message: string | undefined;
  // pg's DatabaseError carries a severity and the SQLSTATE; Prisma's errors are PrismaClient*Error.
  if (typeof cause.severity === 'string' && code) message = `database error (SQLSTATE ${code}); retry later`;
  else if (typeof cause.name === 'string' && cause.name.startsWith('PrismaClient'))
    message = `database error${code ? ` (${code})` : ''}; retry later`;
  else if (code && /^E[A-Z]+$/.test(code)) message = `server error (${code}); retry later`;
  if (message) console.error(`[api] ${message}: ${error.message}`);
  return message;
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    const internal = internalMessage(error);
    return {
      ...shape,
      message: zod ? `invalid input: ${describeZod(zod)}` : (internal ?? shape.message),
      data: {
        ...shape.data,
        // A ZodError's stack repeats every issue (46 MB for a batch of 20,000 bad records, outside production).
        stack: zod || internal ? undefined : shape.data.stack,
        // The first issues only: a batch of 20,000 malformed records makes 100,000 of them (megabytes to send).
        zodIssues: zod ? zod.issues.slice(0, 20).map((i) => ({ path: i.path.map(String), message: i.message })) : null,
        zodIssueCount: zod ? zod.issues.length : null,
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
  if (!collector)
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid collector token is required (Authorization: Bearer sxc_…)' });
  return next({ ctx: { ...ctx, collector } });
});

export const userSlots = new UserSlots(() => ({
  running: edgeConfig().SEXTANT_USER_MAX_INFLIGHT,
  queued: edgeConfig().SEXTANT_USER_MAX_QUEUED,
}));

/** PostgreSQL's query_canceled: the statement timeout of the query pool fired. */
const QUERY_CANCELED = '57014';

export const userProcedure = publicProcedure.use(async ({ ctx, next, type }) => {
  const caller = await callerUser(ctx.db, ctx);
  if (!caller) {
    const apiToken = !ctx.sessionToken && ctx.bearer?.startsWith('sxu_');
    throw new TRPCError({ code: 'UNAUTHORIZED', message: apiToken ? 'API token unknown or revoked' : 'sign in first' });
  }
  const authed = { ...caller.user };
  // Reads (and the live tail) go to the pool with the statement timeout. Mutations (Hubble import stores
  // a batch) keep the ingest pool.
  const db = type === 'mutation' ? ctx.db : { ...ctx.db, pool: ctx.db.queryPool };
  const nextCtx = { ...ctx, db, user: authed, sessionToken: caller.sessionToken, viaSession: caller.viaSession };
  // A subscription holds no slot: its resolver returns at once and its polling runs on the query pool.
  if (type === 'subscription') return next({ ctx: nextCtx });
  const release = await userSlots.acquire(authed.id);
  if (!release)
    throw new TRPCError({
      code: 'TOO_MANY_REQUESTS',
      message: `too many queries in flight (at most ${edgeConfig().SEXTANT_USER_MAX_INFLIGHT} per user, ${edgeConfig().SEXTANT_USER_MAX_QUEUED} waiting); retry when some have finished`,
    });
  try {
    const res = await next({ ctx: nextCtx });
    const cause = !res.ok ? (res.error.cause as { code?: unknown } | undefined) : undefined;
    if (cause?.code === QUERY_CANCELED) {
      throw new TRPCError({
        code: 'TIMEOUT',
        message: 'the query took too long and was cancelled (SEXTANT_QUERY_TIMEOUT_MS); narrow the time window or the filter',
      });
    }
    return res;
  } finally {
    release();
  }
});

export const adminProcedure = userProcedure.use(async ({ ctx, next }) => {
  if (ctx.user.role !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: 'admin role required' });
  return next();
});
