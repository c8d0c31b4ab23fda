// Mounts the tRPC API (packages/api) at /api/trpc with the fetch adapter.
import { appRouter, createContext } from '@sextant/api';
import { BATCH_LIMITS } from '@sextant/shared';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getServerDeps } from '../../../../src/server/deps';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

async function handler(req: Request): Promise<Response> {
  const length = Number(req.headers.get('content-length') ?? 0);
  if (length > BATCH_LIMITS.maxBodyBytes) {
    return Response.json({ error: { message: `request body over ${BATCH_LIMITS.maxBodyBytes} bytes`, code: 'PAYLOAD_TOO_LARGE' } }, { status: 413 });
  }
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext(getServerDeps(), req.headers, (cookie) => resHeaders.append('set-cookie', cookie)),
  });
}

export { handler as GET, handler as POST };
