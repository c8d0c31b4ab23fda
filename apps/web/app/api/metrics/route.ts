// GET /api/metrics → Prometheus text format (Hubble metric names plus Sextant's own); optional bearer token.
import { metricsResponse, processMetrics } from '@sextant/api';
import { getServerDeps } from '../../../src/server/deps';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(req: Request): Promise<Response> {
  const m = await metricsResponse(getServerDeps().db, processMetrics, req.headers.get('authorization'));
  return new Response(m.body, { status: m.status, headers: m.headers });
}
