/**
 * Hostile-input suite: every public procedure (ingest, auth, flows.search, flows.tail, hubble.import) gets
 * generated malformed, oversized, deeply nested, NUL/surrogate-laden and boundary-value requests over real
 * HTTP. Each must be answered 4xx (poisoned content: 4xx or stored sanitized, never 5xx), the server must keep
 * answering /api/health, memory must stay bounded, and nothing of a rejected request may be stored.
 * Timings are printed, and asserted only with bounds a loaded 2-core machine cannot break
 * (`npm run bench:hostile` reports the figures from a separate server process).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginThrottle } from './routers/auth';
import { hostileCases } from './testing/hostile-cases';
import { runHostile, statusCounts, violations } from './testing/hostile-runner';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const count = async (sql: string) => Number((await h.db.pool.query(sql)).rows[0].n);

describe('hostile input', () => {
  it('answers every generated hostile request with a 4xx (or stores poison sanitized), stays responsive and stores nothing of rejected batches', async () => {
    loginThrottle.reset();
    const cases = hostileCases();
    const sessionsBefore = await count('SELECT count(*) AS n FROM sessions');
    const tokensBefore = await count('SELECT count(*) AS n FROM api_tokens');
    const rssBefore = process.memoryUsage().rss;
    const report = await runHostile(
      h.server.url,
      cases,
      { collector: h.collectorToken, admin: h.userToken },
      () => process.memoryUsage().rss,
    );
    loginThrottle.reset();

    const slowest = [...report.results].sort((a, b) => b.ms - a.ms).slice(0, 3);
    console.log(
      `hostile: ${report.results.length} requests, statuses ${JSON.stringify(statusCounts(report.results))}; ` +
        `slowest ${slowest.map((r) => `${r.case.name} ${r.ms.toFixed(0)} ms`).join(', ')}; ` +
        `health ${report.healthChecks} checks, worst ${report.worstHealthMs.toFixed(1)} ms; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → peak ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB (test process includes the attacker)`,
    );
    const bad = violations(report.results);
    expect(bad.map((r) => `${r.case.name}: ${r.status} ${r.body}`)).toEqual([]);
    expect(report.results).toHaveLength(cases.length);
    // Generous: a request that is refused never waits long, even on a loaded 2-core machine.
    for (const r of report.results) expect(r.ms, r.case.name).toBeLessThan(10_000);
    expect(report.healthFailures).toBe(0);
    expect(report.worstHealthMs).toBeLessThan(5_000);
    // Nothing of 20 MiB bodies (or 30k-deep nesting) is ever held: growth stays far below what they weigh.
    expect(report.peakRssBytes - rssBefore).toBeLessThan(400 * 2 ** 20);

    // Nothing partially stored: no session or token appeared, and no record of a rejected batch exists.
    expect(await count('SELECT count(*) AS n FROM sessions')).toBe(sessionsBefore);
    expect(await count('SELECT count(*) AS n FROM api_tokens')).toBe(tokensBefore);
    const rejected = report.results.filter((r) => r.status >= 400 && r.case.batchId).map((r) => r.case.batchId as string);
    expect(rejected.length).toBeGreaterThan(10);
    for (const table of ['ingest_receipts', 'flows', 'l7_events']) {
      const found = await h.db.pool.query(`SELECT count(*) AS n FROM ${table} WHERE batch_id::text = ANY($1::text[])`, [rejected]);
      expect(Number(found.rows[0].n), table).toBe(0);
    }
  });
});
