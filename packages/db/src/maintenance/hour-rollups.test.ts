import { isErrorClass, L7Event, l7StatusClass } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { generateTraffic, type GeneratedTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { serviceMap } from '../queries/service-map';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { rebuildDirtyHours } from './hour-rollups';

const HOUR = 3_600_000;
let db: TestDatabase;
let collectorId: string;
const now = Date.now();

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'h')).collector.id;
});
afterAll(async () => db?.close());

async function store(t: GeneratedTraffic) {
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7, histograms: [] });
}

/** Ground truth from the generated records, in the shared vocabulary: requests are L7 exchanges, connections are flows. */
function totals(t: GeneratedTraffic[]): { requests: number; errors: number; connections: number } {
  let requests = 0;
  let errors = 0;
  let connections = 0;
  for (const x of t) {
    requests += x.l7.length;
    errors += x.l7.filter((e) => isErrorClass(l7StatusClass(L7Event.parse(e)))).length;
    connections += x.flows.filter((f) => f.verdict !== 'DROPPED').length;
  }
  return { requests, errors, connections };
}

async function mapTotals() {
  const m = await serviceMap(db.pool, { since: now - 24 * HOUR, until: now });
  const sum = (k: 'requests' | 'errors' | 'connections') => m.edges.reduce((a, e) => a + e[k], 0);
  return { requests: sum('requests'), errors: sum('errors'), connections: sum('connections'), resolution: m.resolutionSeconds };
}

describe('hour rollups', () => {
  it('a 24 h map counts the same before and after the job folds closed hours, and after late data', async () => {
    const early = generateTraffic({ seed: 11, connections: 400, start: now - 10 * HOUR, end: now - 3 * HOUR, services: 15 });
    const recent = generateTraffic({ seed: 12, connections: 100, start: now - 20 * 60_000, end: now - 60_000, services: 15 });
    await store(early);
    await store(recent);
    const expected = totals([early, recent]);
    // Before the job: every hour is dirty, so the map reads minute rows.
    expect(await mapTotals()).toEqual({ ...expected, resolution: 3600 });
    const rebuilt = await rebuildDirtyHours(db.pool, now);
    expect(rebuilt).toBeGreaterThanOrEqual(7);
    const hourRows = Number((await db.pool.query('SELECT count(*) AS n FROM edge_hour')).rows[0].n);
    expect(hourRows).toBeGreaterThan(0);
    expect(await mapTotals()).toEqual({ ...expected, resolution: 3600 });
    // Late data for an hour already folded: counted at once (minute rows), and after the next run too.
    const lateHour = Math.floor((now - 9 * HOUR) / HOUR) * HOUR;
    const late = generateTraffic({ seed: 13, connections: 50, start: lateHour + 5 * 60_000, end: lateHour + 25 * 60_000, services: 15 });
    await store(late);
    const withLate = totals([early, recent, late]);
    expect(await mapTotals()).toEqual({ ...withLate, resolution: 3600 });
    expect(await rebuildDirtyHours(db.pool, now)).toBe(1);
    expect(await mapTotals()).toEqual({ ...withLate, resolution: 3600 });
    expect(await rebuildDirtyHours(db.pool, now)).toBe(0);
  });
});
