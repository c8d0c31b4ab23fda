/** Starts the background maintenance loop once per server process. */
import { startMaintenanceLoop } from '@sextant/db';
import { getServerDeps } from './deps';
import { webEnv } from './env';

const g = globalThis as unknown as { sextantMaintenance?: () => void };

export function startMaintenance(): void {
  if (g.sextantMaintenance) return;
  const env = webEnv();
  g.sextantMaintenance = startMaintenanceLoop(getServerDeps().db.pool, {
    rawDays: env.SEXTANT_RETENTION_RAW_DAYS,
    rollupDays: env.SEXTANT_RETENTION_ROLLUP_DAYS,
    daysAhead: 3,
    intervalMs: env.SEXTANT_MAINTENANCE_INTERVAL_MS,
    onError: (err) => console.error(`[sextant] maintenance failed: ${(err as Error).message}`),
    onReport: (r) => {
      if (r.created || r.dropped.length)
        console.log(`[sextant] maintenance: ${r.created} partitions created, dropped ${r.dropped.join(', ') || 'none'}`);
    },
  });
}
