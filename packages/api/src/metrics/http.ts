/**
 * The /api/metrics handler, independent of the HTTP framework: checks the optional scrape token, refreshes
 * collector health from the database and renders the registry. The Next.js route and the standalone server
 * both call it.
 */
import { timingSafeEqual } from 'node:crypto';
import { activeCollectorHealth, type Db } from '@sextant/db';
import type { SextantMetrics } from './sextant-metrics';

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

export interface MetricsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function tokenMatches(header: string | null, token: string): boolean {
  const m = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  if (!m?.[1]) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `metrics` is a registry or a function returning it (which may throw on a bad metrics environment). */
export async function metricsResponse(
  db: Db,
  metrics: SextantMetrics | (() => SextantMetrics),
  authorization: string | null,
): Promise<MetricsResponse> {
  if (typeof metrics === 'function') {
    try {
      metrics = metrics();
    } catch (err) {
      return { status: 500, headers: TEXT, body: `${(err as Error).message}\n` };
    }
  }
  const token = metrics.config.token;
  if (token && !tokenMatches(authorization, token)) {
    return {
      status: 401,
      headers: { ...TEXT, 'www-authenticate': 'Bearer realm="sextant-metrics"' },
      body: 'a valid metrics token is required (Authorization: Bearer <SEXTANT_METRICS_TOKEN>)\n',
    };
  }
  try {
    metrics.setCollectors(await activeCollectorHealth(db.prisma));
  } catch {
    // The database being down must not hide the in-memory metrics; collector health is simply not refreshed.
  }
  return { status: 200, headers: { 'content-type': metrics.contentType }, body: await metrics.render() };
}
