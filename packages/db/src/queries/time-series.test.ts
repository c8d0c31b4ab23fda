/**
 * Dashboard series on real PostgreSQL, through the real ingest: a step with no requests is null (nothing
 * observed), never 0 requests / 0 % errors / 0 ns; a measured zero stays 0; the step still in progress is
 * marked partial; panels give a gap where they saw nothing and 0 where only other keys had records.
 */
import type { L7Event } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { generateTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { tcpHealth } from './panels';
import { timeSeries } from './time-series';

const MIN = 60_000;
let db: TestDatabase;
// Half way through the current minute, so it is partial by 30 s (the query takes `now` as a parameter).
const now = Math.floor(Date.now() / MIN) * MIN + 30_000;
const minute = (k: number) => Math.floor(now / MIN) * MIN - k * MIN; // start of the minute k minutes ago
const traffic = generateTraffic({ seed: 3, connections: 40, start: now - 30 * MIN, end: now - 20 * MIN, services: 3, namespaces: 1 });
const http = traffic.l7.find((e) => e.protocol === 'http') as L7Event;
const svc = { service: http.destination.service as string, namespace: http.destination.namespace ?? '' };

function requests(start: number, n: number, code: number, latencyNs: number): L7Event[] {
  return Array.from({ length: n }, (_, k) => ({
    ...http,
    id: crypto.randomUUID(),
    time: start + 1000 + k,
    latencyNs,
    http: { ...http.http, code } as L7Event['http'],
  }));
}

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  const collectorId = (await createCollectorToken(db.prisma, 'ts')).collector.id;
  // minute -8: 10 requests, half 5xx, all 801 ms. minute -6: nothing (the outage). minute -4: 4 requests, no
  // errors. The current minute: 3 requests so far.
  const l7 = [
    ...requests(minute(8), 5, 200, 801e6),
    ...requests(minute(8) + 10, 5, 503, 801e6),
    ...requests(minute(4), 4, 200, 2e6),
    ...requests(minute(0), 3, 200, 2e6),
  ];
  const flows = traffic.flows
    .slice(0, 3)
    .map((f, k) => ({ ...f, id: crypto.randomUUID(), time: minute(8) + k, closeReason: 'RESET' as const }));
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows, l7, histograms: [] });
});
afterAll(async () => db?.close());

describe('time series: no data is not zero', () => {
  it('gives null for a step without requests, 0 for a measured zero, and marks the step in progress partial', async () => {
    const ts = await timeSeries(
      db.pool,
      { since: minute(10), until: now, stepSeconds: 60, protocols: ['http'], ...svc, direction: 'inbound' },
      now,
    );
    expect(ts.stepSeconds).toBe(60);
    const at = (k: number) => ts.points.find((p) => p.time === minute(k));
    expect(ts.points.map((p) => p.time)).toEqual(Array.from({ length: 11 }, (_, i) => minute(10 - i)));

    expect(at(8)).toMatchObject({ requests: 10, errors: 5, errorRatio: 0.5, partial: false });
    expect(at(8)?.p99Ns).toBeGreaterThanOrEqual(801e6);

    // The outage minute: nothing observed. Not "0 requests, 0 % errors, 0 ns" (= recovered).
    expect(at(6)).toMatchObject({
      requests: null,
      errors: null,
      requestsPerSecond: null,
      errorRatio: null,
      bytes: null,
      p50Ns: null,
      p95Ns: null,
      p99Ns: null,
      partial: false,
    });

    expect(at(4)).toMatchObject({ requests: 4, errors: 0, errorRatio: 0, partial: false });
    expect(at(4)?.p50Ns).toBeGreaterThan(0);

    // The current minute is partial; its rate is over the seconds elapsed, not the whole step.
    const last = ts.points[ts.points.length - 1];
    expect(last).toMatchObject({ time: minute(0), requests: 3, partial: true });
    expect(last?.requestsPerSecond).toBeCloseTo(3 / 30, 6);
    expect(ts.points.filter((p) => p.partial)).toHaveLength(1);
  });

  it('panels: a gap where nothing was seen, 0 where only another key had records', async () => {
    const p = await tcpHealth(db.pool, { since: minute(10), until: now, stepSeconds: 60 });
    const resets = p.series.find((s) => s.key === 'resets');
    const failed = p.series.find((s) => s.key === 'failed connects');
    const at = (s: typeof resets, k: number) => s?.points.find((x) => x.time === minute(k));
    expect(at(resets, 8)?.value).toBe(3);
    expect(at(failed, 8)?.value).toBe(0);
    expect(at(resets, 6)?.value).toBeNull();
    expect(resets?.points[resets.points.length - 1]?.partial).toBe(true);
  });
});
