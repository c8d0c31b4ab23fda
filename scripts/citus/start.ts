/**
 * `npm run citus:start`: a Citus coordinator and two workers on loopback (PostgreSQL 15 with the citus.so
 * that scripts/citus/build.sh installs), data under .sextant/citus (kept between runs), a `sextant` database
 * on every node with the workers registered. Prints the DATABASE_URL; Ctrl-C stops the nodes.
 * Ports: SEXTANT_CITUS_PORT (coordinator, default 54330) and the next two for the workers.
 * Then: DATABASE_URL=… npx prisma migrate deploy && DATABASE_URL=… npm run db:distribute (README, "Running on Citus").
 */
import path from 'node:path';
import { REPO_ROOT } from '../../packages/db/src/migrate';
import { prepareCitusDatabase, startCitusCluster } from '../../packages/db/src/citus/cluster';

const base = Number(process.env.SEXTANT_CITUS_PORT ?? 54330);
const started = Date.now();
const cluster = await startCitusCluster({
  dir: path.join(REPO_ROOT, '.sextant', 'citus'),
  ports: [base, base + 1, base + 2],
  log: (line) => console.log(`[citus] ${line}`),
});
const url = await prepareCitusDatabase(
  cluster.url,
  cluster.workers.map((w) => ({ host: '127.0.0.1', port: w.port })),
  'sextant',
);
console.log(
  `[citus] coordinator + ${cluster.workers.length} workers up in ${((Date.now() - started) / 1000).toFixed(1)} s (logs in ${cluster.dir})`,
);
console.log(`DATABASE_URL=${url}`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cluster.stop();
  console.log('[citus] stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
setInterval(() => {}, 1 << 30);
