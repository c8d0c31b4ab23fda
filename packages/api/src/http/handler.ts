/**
 * The tRPC endpoint as a fetch handler, shared by the Next.js route and the standalone server so both apply
 * the same gate (body limits, credentials before large bodies, nesting depth) and the same context.
 */
import { authenticateCollector } from '@sextant/db';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { callerUser, createContext, credentialsOf, type ServerDeps } from '../context';
import { appRouter } from '../root';
import { admitTrpcRequest } from './body-limits';
import { edgeConfig } from './config';

/** Calls per batched request: the UI batches a page's queries; more than this is not a page. */
const MAX_BATCH_CALLS = 64;

async function authenticate(deps: ServerDeps, kind: 'collector' | 'admin', headers: Headers): Promise<'ok' | 'unauthorized' | 'forbidden'> {
  const creds = credentialsOf(headers);
  if (kind === 'collector') return creds.bearer && (await authenticateCollector(deps.db.prisma, creds.bearer)) ? 'ok' : 'unauthorized';
  const caller = await callerUser(deps.db, creds);
  return !caller ? 'unauthorized' : caller.user.role === 'admin' ? 'ok' : 'forbidden';
}

export async function handleTrpcRequest(deps: ServerDeps, req: Request, endpoint = '/api/trpc'): Promise<Response> {
  const admitted = await admitTrpcRequest(req, (kind, headers) => authenticate(deps, kind, headers), endpoint);
  if (admitted instanceof Response) return admitted;
  const trustProxy = edgeConfig().SEXTANT_TRUST_PROXY;
  return fetchRequestHandler({
    endpoint,
    req: admitted,
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ resHeaders }) =>
      createContext(deps, admitted.headers, { setCookie: (c) => resHeaders.append('set-cookie', c), setHeader: (n, v) => resHeaders.set(n, v) }, trustProxy),
  });
}
