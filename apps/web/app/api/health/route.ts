// GET /api/health → { status, db, version }; 503 when the database does not answer.
import { checkHealth } from '@sextant/api';
import { getServerDeps } from '../../../src/server/deps';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  const deps = getServerDeps();
  const h = await checkHealth(deps.db, deps.version);
  return Response.json(h, { status: h.status === 'ok' ? 200 : 503 });
}
