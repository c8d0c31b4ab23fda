/**
 * One server replica as its own process, for the replica tests on Citus (replicas.citus-test.ts): the
 * standalone API (tRPC, /api/metrics) on a free loopback port over DATABASE_URL, a stored batch waking this
 * process's live tails as in the web app. On the message `maintain` it starts the maintenance loop every
 * replica runs (SEXTANT_MAINTENANCE_INTERVAL_MS, default 300) and reports each run to the parent.
 */
import { connect, startMaintenanceLoop } from '@sextant/db';
import { ingestSignal } from '../live';
import { startStandaloneServer } from '../standalone';
import { SEXTANT_VERSION } from '../version';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const db = connect(url, { poolSize: 8 });
const server = await startStandaloneServer({ db, version: SEXTANT_VERSION, onIngest: () => ingestSignal.notify() });
let stopMaintenance: (() => void) | undefined;
process.on('message', (m) => {
  if (m !== 'maintain' || stopMaintenance) return;
  stopMaintenance = startMaintenanceLoop(db.pool, {
    rawDays: 7,
    rollupDays: 30,
    daysAhead: 1,
    intervalMs: Number(process.env.SEXTANT_MAINTENANCE_INTERVAL_MS ?? 300),
    onReport: (report) => process.send?.({ report }),
    onError: (err) => process.send?.({ error: (err as Error).message }),
  });
});
const stop = () => {
  stopMaintenance?.();
  void server
    .close()
    .then(() => db.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.send?.({ url: server.url });
