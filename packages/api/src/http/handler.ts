/**
 * The tRPC endpoint as a fetch handler, shared by the Next.js route and the standalone server so both apply
 * the same gate (body limits, credentials before large bodies, nesting depth) and the same context.
 */
import { authenticateCollector } from '@sextant/db';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { callerUser, createContext, credentialsOf, type ServerDeps } from '../context';
import { appRouter } from '../root';
import { admitTrpcRequest, procedurePaths, trpcErrorResponse } from './body-limits';
import { edgeConfig } from './config';

/** Calls per batched request: the UI batches a page's queries; more than this is not a page. */
const MAX_BATCH_CALLS = 64;

async function authenticate(deps: ServerDeps, kind: 'collector' | 'admin', headers: Headers): Promise<'ok' | 'unauthorized' | 'forbidden'> {
  const creds = credentialsOf(headers);
  if (kind === 'collector') return creds.bearer && (await authenticateCollector(deps.db.prisma, creds.bearer)) ? 'ok' : 'unauthorized';
  const caller = await callerUser(deps.db, creds);
  return !caller ? 'unauthorized' : caller.user.role === 'admin' ? 'ok' : 'forbidden';
}

type Parser = { safeParse?: (v: unknown) => { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } };
type ProcedureDef = { _def?: { type?: string; inputs?: Parser[] } };

/**
 * A subscription (the live tail, over SSE) is answered 200 and its errors travel inside the event stream:
 * a wrong token or a bad input would look accepted. Checked here first, so they get a plain 401/400.
 * The input is merged with Last-Event-Id as tRPC itself does on reconnects.
 */
async function checkSubscription(deps: ServerDeps, req: Request, endpoint: string): Promise<Response | null> {
  if (req.method !== 'GET') return null;
  const url = new URL(req.url);
  const paths = procedurePaths(url, endpoint);
  const proc =
    paths?.length === 1 ? (appRouter._def.procedures as Record<string, ProcedureDef | undefined>)[paths[0] as string] : undefined;
  if (proc?._def?.type !== 'subscription') return null;
  if (!(await callerUser(deps.db, credentialsOf(req.headers)))) return trpcErrorResponse('UNAUTHORIZED', 'sign in first');
  let input: unknown;
  try {
    const raw = url.searchParams.get('input');
    input = raw === null ? undefined : JSON.parse(raw);
  } catch {
    return trpcErrorResponse('BAD_REQUEST', 'input is not valid JSON');
  }
  const lastEventId = req.headers.get('last-event-id') ?? url.searchParams.get('lastEventId') ?? url.searchParams.get('Last-Event-Id');
  if (lastEventId)
    input = input && typeof input === 'object' && !Array.isArray(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
  for (const parser of proc._def.inputs ?? []) {
    const r = parser.safeParse?.(input);
    if (r && !r.success) {
      const why = (r.error?.issues ?? [])
        .slice(0, 5)
        .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
        .join('; ');
      return trpcErrorResponse('BAD_REQUEST', `invalid input: ${why}`);
    }
  }
  return null;
}

export async function handleTrpcRequest(deps: ServerDeps, req: Request, endpoint = '/api/trpc'): Promise<Response> {
  let admitted: Request;
  try {
    const a = await admitTrpcRequest(req, (kind, headers) => authenticate(deps, kind, headers), endpoint);
    if (a instanceof Response) return a;
    const refused = await checkSubscription(deps, a, endpoint);
    if (refused) return refused;
    admitted = a;
  } catch (err) {
    // Credentials are checked against the database before tRPC runs: when it is unreachable, answer like a
    // procedure would (a retryable 500 in tRPC's shape, the cause in the server's log), not an empty 500.
    console.error(`[api] request refused before its procedure ran: ${(err as Error).message}`);
    return trpcErrorResponse('INTERNAL_SERVER_ERROR', 'server error while checking credentials; retry later');
  }
  const trustProxy = edgeConfig().SEXTANT_TRUST_PROXY;
  return fetchRequestHandler({
    endpoint,
    req: admitted,
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ resHeaders }) =>
      createContext(
        deps,
        admitted.headers,
        { setCookie: (c) => resHeaders.append('set-cookie', c), setHeader: (n, v) => resHeaders.set(n, v) },
        trustProxy,
      ),
  });
}
