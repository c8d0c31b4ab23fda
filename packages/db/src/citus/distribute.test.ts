/**
 * The distributed layout (npm run db:distribute) and the ingest guarantees that must survive it. The test
 * database is distributed when the suite runs with SEXTANT_TEST_CITUS=1 (npm run test:citus); on one
 * PostgreSQL the layout checks are replaced by the step's refusal, and exactly-once ingest is checked on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { generateTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { dayOf, ensurePartitions, PARTITIONED_TABLES, partitionName } from '../maintenance/partitions';
import { createTestDatabase, testingOnCitus, testServerUrl, type TestDatabase } from '../testing';
import { fencedXmin } from './commit-fence';
import { DISTRIBUTED_TABLES, distributeSchema, REFERENCE_TABLES } from './distribute';

const onCitus = testingOnCitus();
let db: TestDatabase;
let collectorId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'distribute-test')).collector.id;
});
afterAll(async () => db?.close());

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.pool.query(sql, params)).rows[0].n);
}

describe('db:distribute', () => {
  it.runIf(!onCitus)('refuses a database without Citus, changing nothing', async () => {
    await expect(distributeSchema(db.url)).rejects.toThrow('needs a Citus coordinator');
  });

  it.runIf(onCitus)('lays the tables out as docs/scaling.md says, and a second run changes nothing', async () => {
    const layout = await db.pool.query<{ t: string; kind: string; col: string | null; colocation: number }>(
      `SELECT logicalrelid::regclass::text AS t, partmethod AS kind, column_to_column_name(logicalrelid, partkey) AS col, colocationid AS colocation
         FROM pg_dist_partition WHERE logicalrelid::regclass::text !~ '_p[0-9]{8}$'`,
    );
    const by = new Map(layout.rows.map((r) => [r.t, r]));
    const exists = async (t: string) => (await db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [t])).rows[0].ok as boolean;
    for (const t of REFERENCE_TABLES) if (await exists(t)) expect(by.get(t)?.kind, t).toBe('n');
    for (const [t, column] of DISTRIBUTED_TABLES) expect([by.get(t)?.kind, by.get(t)?.col], t).toEqual(['h', column]);
    expect(by.get('l7_events')?.colocation).toBe(by.get('flows')?.colocation);
    expect(by.get('edge_hour')?.colocation).toBe(by.get('edge_minute')?.colocation);
    expect(by.get('latency_minute')?.colocation).toBe(by.get('edge_minute')?.colocation);
    // The server's own tables stay plain tables of the coordinator (distribute.ts says why).
    for (const t of ['users', 'sessions', 'api_tokens', 'collectors', 'collector_health']) expect(by.has(t), t).toBe(false);
    expect(await distributeSchema(db.url)).toEqual({ reference: [], distributed: [] });
  });

  it.runIf(onCitus)('daily partitions created later (ingest, maintenance) are distributed with their parent', async () => {
    const day = dayOf(Date.now()) + 3;
    await ensurePartitions(db.pool, PARTITIONED_TABLES, [day]);
    for (const t of PARTITIONED_TABLES) {
      const name = partitionName(t, day);
      const parent = await db.pool.query(`SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = $1::regclass`, [t]);
      const part = await db.pool.query(`SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = $1::regclass`, [name]);
      expect(part.rows[0]?.colocationid, name).toBe(parent.rows[0]?.colocationid);
      expect(await count(`SELECT count(*) AS n FROM pg_dist_shard WHERE logicalrelid = $1::regclass`, [name]), name).toBeGreaterThan(1);
    }
  });
});

describe('exactly-once ingest on the layout', () => {
  it('a batch and its receipt commit together: a failure after the rows were copied leaves neither, a retry stores it once', async () => {
    const now = Date.now();
    const t = generateTraffic({ seed: 18, connections: 60, start: now - 120_000, end: now });
    const batchId = crypto.randomUUID();
    const health = {
      time: now,
      version: 't',
      kernel: 'k',
      hostname: 'h',
      eventsPerSecond: 1,
      lostEvents: 0,
      parsedBytes: 0,
      unparsedBytes: 0,
      spoolBytes: 0,
      deadLetterBatches: 0,
    };
    const records = { batchId, sentAt: now, flows: t.flows, l7: t.l7, histograms: [] };
    const stored = async () => ({
      receipts: await count(`SELECT count(*) AS n FROM ingest_receipts WHERE batch_id = $1`, [batchId]),
      flows: await count(`SELECT count(*) AS n FROM flows WHERE batch_id = $1`, [batchId]),
      l7: await count(`SELECT count(*) AS n FROM l7_events WHERE batch_id = $1`, [batchId]),
      requests: await count(`SELECT coalesce(sum(requests), 0) AS n FROM edge_minute`),
    });
    // The health row is the last write of the transaction: a time PostgreSQL cannot store fails it after the
    // receipt, the COPY of flows and L7 events (every shard) and the rollup upserts.
    await expect(storeRecords(db.pool, collectorId, { ...records, health: { ...health, time: 1e20 } })).rejects.toThrow(/out of range/);
    expect(await stored()).toEqual({ receipts: 0, flows: 0, l7: 0, requests: 0 });

    expect((await storeRecords(db.pool, collectorId, { ...records, health })).stored).toBe(true);
    const once = await stored();
    expect(once).toMatchObject({ receipts: 1, flows: t.flows.length, l7: t.l7.length });
    expect(once.requests).toBeGreaterThan(0);
    expect((await storeRecords(db.pool, collectorId, { ...records, health })).stored).toBe(false);
    expect(await stored()).toEqual(once);
  });
});

describe('the live tail across two-phase commit', () => {
  it('reads its xmin only while no ingest commit is in flight on Citus (commit-fence.ts), in its own statement otherwise', async () => {
    if (!onCitus) {
      expect(await fencedXmin(db.pool)).toBeNull();
      return;
    }
    // An ingest transaction between its local commit and COMMIT PREPARED on the workers holds this lock.
    const committing = await db.pool.connect();
    await committing.query(`SELECT pg_advisory_lock_shared(hashtext('sextant.ingest.commit'))`);
    let read = false;
    const xmin = fencedXmin(db.pool).then((x) => ((read = true), x));
    await new Promise((r) => setTimeout(r, 300));
    expect(read).toBe(false);
    await committing.query(`SELECT pg_advisory_unlock_shared(hashtext('sextant.ingest.commit'))`);
    committing.release();
    expect(await xmin).toMatch(/^\d+$/);
  });
});
