/**
 * `npm run db:distribute`: the distributed layout of docs/scaling.md on the Citus coordinator in
 * DATABASE_URL (packages/db/src/citus/distribute.ts). Run after the migrations; idempotent.
 * SEXTANT_CITUS_SHARD_COUNT: shards per table (default Citus's 32).
 */
import { distributeSchema } from '../../packages/db/src/citus/distribute';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('set DATABASE_URL to the Citus coordinator (the migrated Sextant database)');
  process.exit(2);
}
const shards = process.env.SEXTANT_CITUS_SHARD_COUNT ? Number(process.env.SEXTANT_CITUS_SHARD_COUNT) : undefined;
try {
  const r = await distributeSchema(url, { shardCount: shards, log: (line) => console.log(`[distribute] ${line}`) });
  console.log(
    r.reference.length + r.distributed.length === 0
      ? '[distribute] the layout was already in place'
      : `[distribute] done: ${r.reference.length} reference tables, ${r.distributed.length} distributed tables`,
  );
} catch (err) {
  console.error(`[distribute] ${(err as Error).message}`);
  process.exitCode = 1;
}
