/** Process-wide server dependencies: one database pool and Prisma client shared by every request. */
import { ingestSignal, SEXTANT_VERSION, type ServerDeps } from '@sextant/api';
import { connect } from '@sextant/db';
import { webEnv } from './env';

const g = globalThis as unknown as { sextantDeps?: ServerDeps };

export function getServerDeps(): ServerDeps {
  // A stored batch wakes the live-tail subscribers of this process at once.
  if (!g.sextantDeps)
    g.sextantDeps = { db: connect(webEnv().DATABASE_URL), version: SEXTANT_VERSION, onIngest: () => ingestSignal.notify() };
  return g.sextantDeps;
}
