/** Process-wide server dependencies: one database pool and Prisma client shared by every request. */
import { SEXTANT_VERSION, type ServerDeps } from '@sextant/api';
import { connect } from '@sextant/db';
import { webEnv } from './env';

const g = globalThis as unknown as { sextantDeps?: ServerDeps };

export function getServerDeps(): ServerDeps {
  if (!g.sextantDeps) g.sextantDeps = { db: connect(webEnv().DATABASE_URL), version: SEXTANT_VERSION };
  return g.sextantDeps;
}
