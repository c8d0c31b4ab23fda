/**
 * Per-edge slow thresholds end to end on the real kernel (services/slow-thresholds.ts, docs/l7-line-rate.md): two
 * loopback HTTP servers, each a process of its own — "fast" answers at once and its /slow after 100 ms, "slow"
 * answers /slow after 300 ms (every request of its edge is /slow). Ground truth is what the clients counted.
 * With the global threshold alone (250 ms) none of the fast edge's delayed requests is recorded and every exchange of
 * the slow edge is; once each edge has its own threshold (its p99, at least 30 ms here), exactly the fast edge's
 * delayed requests are recorded as slow, and the slow edge's ordinary exchanges no longer are. The aggregates count
 * every exchange either way.
 */
import { describe, expect, it } from 'vitest';
import type { Collector } from './collector';
import type { CollectorConfig } from './env';
import { HttpMix, type FlatOutPlan } from './testing/http-mix';
import { kernelRig, settle } from './testing/kernel-rig';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('l7-slow-edges-test');
const peers = new HttpMix();
rig.onClose(() => peers.close());

const FAST_DELAY_MS = 100;
const SLOW_DELAY_MS = 300;
const NEVER = 1e9; // failEvery: only request 0 is /fail (503)
const range = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => from + i * step);

/** The fast edge: `total` requests over 2 connections, those at `delayed` are /slow (100 ms). */
const fastPlan = (total: number, delayed: number[]): FlatOutPlan => ({ total, connections: 2, failEvery: NEVER, slowAt: delayed });
/** The slow edge: 240 requests over 20 connections, each /slow (300 ms) but the first (/fail): 239 samples of its latency. */
const SLOW_TOTAL = 240;
const SLOW_PLAN: FlatOutPlan = { total: SLOW_TOTAL, connections: 20, failEvery: NEVER, slowAt: range(1, SLOW_TOTAL - 1) };

async function start(tag: string, extra: Partial<CollectorConfig>) {
  const [fastPort, slowPort] = await Promise.all([peers.server(FAST_DELAY_MS), peers.server(SLOW_DELAY_MS)]);
  const fast = `fast-${tag}`;
  const slow = `slow-${tag}`;
  const c = await rig.startCollector({
    rules: [
      { service: fast, match: { port: fastPort } },
      { service: slow, match: { port: slowPort } },
    ],
    l7RecordBudget: 0,
    ...extra,
  });
  /** Both clients' plans at once; checks what they counted. */
  const run = async (fastRun: FlatOutPlan) => {
    const [f, s] = await Promise.all([peers.client(fastPort, fastRun), peers.client(slowPort, SLOW_PLAN)]);
    const delayed = fastRun.slowAt.length;
    expect(f.counts).toEqual({
      'GET /fail 503': 1,
      'GET /ok 200': fastRun.total - 1 - delayed,
      ...(delayed ? { 'GET /slow 200': delayed } : {}),
    });
    expect(s.counts).toEqual({ 'GET /fail 503': 1, 'GET /slow 200': SLOW_TOTAL - 1 });
  };
  return { c, fast, slow, run };
}

/** Requests and errors of the edges into `service` after ingest (from the kernel's aggregates). */
async function counted(service: string): Promise<[number, number]> {
  const r = await rig.rows(
    `SELECT coalesce(sum(requests), 0)::int AS n, coalesce(sum(errors), 0)::int AS e FROM edge_minute WHERE dst_service = $1 AND protocol = 'http'`,
    [service],
  );
  return [r[0].n as number, r[0].e as number];
}

/** Waits until each edge counts what the clients sent ([requests, 503s]), lets stragglers arrive, stops the collector. */
async function stopAfter(c: Collector, want: Record<string, [number, number]>): Promise<void> {
  for (const [service, [n]] of Object.entries(want))
    await waitFor(
      () => counted(service),
      ([got]) => got >= n,
      60_000,
    );
  await settle(1_500);
  await c.stop();
  for (const [service, exact] of Object.entries(want)) expect(await counted(service)).toEqual(exact);
}

/** Slow records (responses) of `service` per path, since `since` (epoch ms). */
async function slowRecords(service: string, since = 0): Promise<Record<string, number>> {
  const rows = await rig.rows(
    `SELECT http_path AS p, count(*)::int AS n FROM l7_events
      WHERE dst_service = $1 AND protocol = 'http' AND type = 'RESPONSE' AND sampling = 'slow' AND time >= $2 GROUP BY 1`,
    [service, new Date(since)],
  );
  return Object.fromEntries(rows.map((r) => [r.p as string, r.n as number]));
}

describe.skipIf(rig.skip)('per-edge slow thresholds on the real kernel', () => {
  it('with the global threshold alone: the fast edge delayed requests are not recorded, every slow-edge exchange is', async () => {
    const { c, fast, slow, run } = await start('global', { l7SlowEdges: 0 });
    await run(fastPlan(2_000, range(100, 10, 200)));
    await stopAfter(c, { [fast]: [2_000, 1], [slow]: [SLOW_TOTAL, 1] });
    expect(await slowRecords(fast)).toEqual({});
    expect(await slowRecords(slow)).toEqual({ '/slow': SLOW_TOTAL - 1 });
    expect(c.slowThresholdEdges()).toBe(0);
  });

  it('with per-edge thresholds: exactly the delayed requests of the fast edge recorded as slow, the slow edge not flooded', async () => {
    const { c, fast, slow, run } = await start('edges', { l7SlowMinMs: 30 });
    // Both edges learn their latency (no delayed request on the fast edge yet), until each has its own threshold.
    await run(fastPlan(1_000, []));
    expect(
      await waitFor(
        async () => c.slowThresholdEdges(),
        (n) => n === 2,
        30_000,
      ),
    ).toBe(2);
    // ...which the collector's health report says (the Collectors page shows it)
    const lastHealth = async () =>
      ((await rig.rows(`SELECT last_health FROM collectors ORDER BY last_seen_at DESC NULLS LAST LIMIT 1`))[0]?.last_health ?? {}) as {
        details?: Record<string, number>;
      };
    expect((await waitFor(lastHealth, (h) => h.details?.l7SlowEdges === 2, 10_000)).details?.l7SlowEdges).toBe(2);
    const since = Date.now();
    // 10 of 2,000 (0.5 %) delayed on the fast edge: under its p99, so its threshold stays at the 30 ms minimum.
    await run(fastPlan(2_000, range(100, 10, 200)));
    await stopAfter(c, { [fast]: [3_000, 2], [slow]: [2 * SLOW_TOTAL, 2] });

    const fastSlow = await slowRecords(fast);
    const slowSince = await slowRecords(slow, since);
    console.log(
      `per-edge: fast edge slow records ${JSON.stringify(fastSlow)}, slow edge after adapting ${JSON.stringify(slowSince)} of ${SLOW_TOTAL - 1}`,
    );
    expect(fastSlow['/slow']).toBe(10); // every delayed request, each once
    // an ordinary exchange over 30 ms on this loopback is a hiccup of a busy machine: at most p99's 1 %
    expect(fastSlow['/ok'] ?? 0).toBeLessThanOrEqual(30);
    // the slow edge's threshold is its p99 (300 ms, reported as its bucket's upper bound, 335 ms): only exchanges
    // slower than that for this edge (a round of 20 held up on a busy machine, say), not every one as before
    expect(slowSince['/slow'] ?? 0).toBeLessThan((SLOW_TOTAL - 1) / 2);
  });
});
