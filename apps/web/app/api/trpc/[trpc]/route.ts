// Mounts the tRPC API (packages/api) at /api/trpc: body limits, credentials before large bodies and the
// nesting bound are applied by handleTrpcRequest, the same gate the standalone server uses.
import { handleTrpcRequest } from '@sextant/api';
import { getServerDeps } from '../../../../src/server/deps';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

function handler(req: Request): Promise<Response> {
  return handleTrpcRequest(getServerDeps(), req);
}

export { handler as GET, handler as POST };
