/** GET /api/health: `{ status, db, version }`; 503 when the database does not answer. */
import type { Db } from '@sextant/db';

export interface Health {
  status: 'ok' | 'degraded';
  db: 'ok' | 'unreachable';
  version: string;
}

export async function checkHealth(db: Db, version: string): Promise<Health> {
  try {
    await db.pool.query('SELECT 1');
    return { status: 'ok', db: 'ok', version };
  } catch {
    return { status: 'degraded', db: 'unreachable', version };
  }
}
