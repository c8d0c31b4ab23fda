/** GET /api/health: `{ status, db, version }`; 503 when the database does not answer. */
import { databaseReachable, type Db } from '@sextant/db';

export interface Health {
  status: 'ok' | 'degraded';
  db: 'ok' | 'unreachable';
  version: string;
}

export async function checkHealth(db: Db, version: string): Promise<Health> {
  return (await databaseReachable(db.pool)) ? { status: 'ok', db: 'ok', version } : { status: 'degraded', db: 'unreachable', version };
}
