import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { generateTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { createCollectorToken } from '../auth/collectors';
import { dayOf, listPartitions, partitionDay, partitionName } from './partitions';
import { runMaintenance } from './maintenance';

const DAY = 86_400_000;
let db: TestDatabase;
let collectorId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'test-host')).collector.id;
});
afterAll(async () => db?.close());

async function count(table: string): Promise<number> {
  return Number((await db.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
}

describe('partition names', () => {
  it('round-trips the day through the name', () => {
    const day = dayOf(Date.UTC(2026, 10, 24, 13));
    expect(partitionName('flows', day)).toBe('flows_p20261124');
    expect(partitionDay('flows_p20261124')).toBe(day);
    expect(partitionDay('flows_default')).toBeNull();
  });
});

describe('maintenance job', () => {
  it('creates partitions ahead for every telemetry table', async () => {
    // The real clock: the next test's retention run must not see partitions this one made for another week.
    const now = Date.now();
    const today = dayOf(now);
    const r = await runMaintenance(db.pool, { rawDays: 7, rollupDays: 30, daysAhead: 2 }, now);
    // yesterday, today and 2 days ahead for 8 tables
    expect(r.created).toBe(4 * 8);
    const names = (await listPartitions(db.pool)).map((p) => p.name);
    expect(names).toContain(partitionName('flows', today + 2));
    expect(names).toContain(partitionName('edge_hour', today - 1));
    expect(names).toContain(partitionName('edge_6h', today - 1));
    expect(names).toContain(partitionName('l7_coverage_minute', today + 2));
    expect(names).toContain(partitionName('l7_record_minute', today + 2));
    expect(names).not.toContain(partitionName('flows', today + 3));
    const again = await runMaintenance(db.pool, { rawDays: 7, rollupDays: 30, daysAhead: 2 }, now);
    expect(again.created).toBe(0);
  });

  it('drops raw partitions past raw retention and keeps rollups longer, with their rows', async () => {
    const now = Date.now();
    // Each batch's minute of traffic lies inside one day (at noon UTC): a run within a minute of midnight once spread the
    // old batch over two days, and both were dropped.
    const noonOf = (t: number) => dayOf(t) * DAY + DAY / 2;
    const old = noonOf(now - 10 * DAY);
    const recent = noonOf(now - 1 * DAY);
    for (const [seed, t] of [
      [1, old],
      [2, recent],
    ] as const) {
      const traffic = generateTraffic({ seed, connections: 50, start: t, end: t + 60_000 });
      await storeRecords(db.pool, collectorId, {
        batchId: crypto.randomUUID(),
        sentAt: now,
        flows: traffic.flows,
        l7: traffic.l7,
        histograms: [],
      });
    }
    expect(await count('flows')).toBe(100);
    const rollupsBefore = await count('edge_minute');
    const r = await runMaintenance(db.pool, { rawDays: 7, rollupDays: 30, daysAhead: 1 }, now);
    const oldDay = dayOf(old);
    expect(r.dropped.sort()).toEqual([partitionName('flows', oldDay), partitionName('l7_events', oldDay)].sort());
    expect(await count('flows')).toBe(50);
    expect(await count('edge_minute')).toBe(rollupsBefore);
    const r2 = await runMaintenance(db.pool, { rawDays: 7, rollupDays: 5, daysAhead: 1 }, now);
    expect(r2.dropped).toEqual(
      expect.arrayContaining([partitionName('edge_minute', oldDay), partitionName('edge_hour', oldDay), partitionName('edge_6h', oldDay)]),
    );
    const remaining = Number(
      (await db.pool.query(`SELECT count(*) AS n FROM edge_minute WHERE bucket < now() - interval '5 days'`)).rows[0].n,
    );
    expect(remaining).toBe(0);
  });
});
