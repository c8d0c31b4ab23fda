/**
 * The maintenance job runs on every server replica; its work must happen once. Two replicas (two pools on the
 * same database) started together: one does the work, the other is skipped, and every closed dirty hour and
 * block is rebuilt exactly once with the same rollups as one run alone. The rollup steps without the lock
 * (as benchmarks call them) also rebuild each hour once when run concurrently. Runs on one PostgreSQL and,
 * in test:citus, on the Citus coordinator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { connect, type Db } from '../client';
import { generateTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { rebuildDirtyHours } from './hour-rollups';
import { runMaintenance } from './maintenance';

const HOUR = 3_600_000;
const now = Date.now();
const OPTS = { rawDays: 7, rollupDays: 30, daysAhead: 1 };
let db: TestDatabase;
let replicas: Db[];
let collectorId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'once')).collector.id;
  replicas = [connect(db.url, { poolSize: 4 }), connect(db.url, { poolSize: 4 })];
});
afterAll(async () => {
  for (const r of replicas ?? []) await r.close();
  await db?.close();
});

async function store(seed: number, start: number, end: number) {
  const t = generateTraffic({ seed, connections: 300, start, end, services: 12 });
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7, histograms: [] });
}

const closedDirtyHours = async () =>
  Number(
    (await db.pool.query(`SELECT count(*) AS n FROM rollup_dirty_hours WHERE hour < date_trunc('hour', to_timestamp($1 / 1000.0))`, [now]))
      .rows[0].n,
  );

/** Per closed hour: (requests, bytes) summed from edge_hour and from edge_minute; equal when each hour is right. */
async function hourTotals(): Promise<{ hour: string; fromHour: string; fromMinute: string }[]> {
  const r = await db.pool.query(
    `SELECT m.h::text AS hour, coalesce(h.s, '') AS "fromHour", m.s AS "fromMinute"
       FROM (SELECT date_trunc('hour', bucket, 'UTC') AS h, sum(requests)::text || '/' || sum(bytes_sent)::text AS s
               FROM edge_minute WHERE bucket < date_trunc('hour', to_timestamp($1 / 1000.0)) GROUP BY 1) m
       LEFT JOIN (SELECT bucket AS h, sum(requests)::text || '/' || sum(bytes_sent)::text AS s FROM edge_hour GROUP BY 1) h USING (h)
      ORDER BY 1`,
    [now],
  );
  return r.rows;
}

describe('maintenance on two replicas', () => {
  it('two runs started together: one works, one is skipped, each closed hour and block rebuilt once', async () => {
    await store(21, now - 14 * HOUR, now - 2 * HOUR);
    await store(22, now - 30 * 60_000, now - 60_000);
    const dirty = await closedDirtyHours();
    expect(dirty).toBeGreaterThanOrEqual(12);
    // Both pools connected before the race, so neither run waits for a first connection.
    for (const r of replicas) await r.pool.query('SELECT 1');
    const reports = await Promise.all(replicas.map((r) => runMaintenance(r.pool, OPTS, now)));
    expect(reports.map((r) => r.skipped).sort()).toEqual([false, true]);
    const worked = reports.find((r) => !r.skipped)!;
    const skipped = reports.find((r) => r.skipped)!;
    expect(skipped).toEqual({ skipped: true, created: 0, hoursRolledUp: 0, blocksRolledUp: 0, dropped: [], prunedRows: 0 });
    expect(worked.hoursRolledUp).toBe(dirty);
    // Blocks: every closed six-hour block that held a rebuilt hour (none of its hours is left dirty).
    const blocks = Number((await db.pool.query(`SELECT count(DISTINCT bucket) AS n FROM edge_6h`)).rows[0].n);
    expect(worked.blocksRolledUp).toBe(blocks);
    expect(blocks).toBeGreaterThanOrEqual(1);
    expect(await closedDirtyHours()).toBe(0);
    const totals = await hourTotals();
    expect(totals.length).toBe(dirty);
    for (const t of totals) expect(t.fromHour).toBe(t.fromMinute);

    // Again, now that nothing is dirty: whoever gets the lock finds nothing to rebuild.
    const again = await Promise.all(replicas.map((r) => runMaintenance(r.pool, OPTS, now)));
    expect(again.reduce((a, r) => a + r.hoursRolledUp + r.blocksRolledUp, 0)).toBe(0);
  });

  it('a run while another session holds the lock is skipped; the hour step alone rebuilds each hour once under concurrency', async () => {
    await store(23, now - 5 * HOUR, now - 3 * HOUR);
    const dirty = await closedDirtyHours();
    expect(dirty).toBeGreaterThanOrEqual(2);
    const holder = await db.pool.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('sextant.maintenance'))`);
      expect((await runMaintenance(replicas[0]!.pool, OPTS, now)).skipped).toBe(true);
      expect(await closedDirtyHours()).toBe(dirty);
    } finally {
      await holder.query(`SELECT pg_advisory_unlock(hashtext('sextant.maintenance'))`);
      holder.release();
    }
    // Without the lock (as bench:query calls it): the marks decide, so two concurrent runs share the hours.
    const counts = await Promise.all(replicas.map((r) => rebuildDirtyHours(r.pool, now)));
    expect(counts[0]! + counts[1]!).toBe(dirty);
    for (const t of await hourTotals()) expect(t.fromHour).toBe(t.fromMinute);
  });
});
