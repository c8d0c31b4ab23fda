/**
 * Record work shed when the collector falls behind its L7 ring (services/record-shedding.ts), on the real kernel:
 * a node server and clients of their own, the collector in this process, shipped into PostgreSQL. While this
 * process is blocked (a client run through spawnSync, then a synchronous wait past the bound) the kernel keeps
 * counting and writing records; when the collector reads them they are older than the bound, so the sampled ones
 * are dropped before any work and counted, the errors (shed only at 4× the bound) kept. Ground truth is what the
 * clients counted: the aggregates equal it exactly, the stored records are exactly the errors of the blocked run
 * and every exchange of the run after it.
 */
import { describe, expect, it } from 'vitest';
import { HttpMix, type SequencePlan } from './testing/http-mix';
import { kernelRig, settle } from './testing/kernel-rig';

const rig = kernelRig('l7-shedding-test');
const peers = new HttpMix();
rig.onClose(() => peers.close());

/** The lag bound: the blocked run's records arrive past it (sampled shed), well short of 4× it (errors kept). */
const MAX_LAG_MS = 3_000;
const BLOCKED_OK = 100;
const BLOCKED_FAIL = 4;
const AFTER_OK = 50;

function sequence(ok: number, fail: number): SequencePlan {
  const seq: SequencePlan['sequence'] = Array.from({ length: ok }, () => ['GET', '/ok'] as [string, string]);
  for (let i = 0; i < fail; i++) seq.splice(i * 20 + 10, 0, ['GET', '/fail']);
  return { sequence: seq };
}

/** Blocks this process (its event loop and everything on it) for `ms`. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe.skipIf(rig.skip)('L7 record shedding on the real kernel', () => {
  it('behind by more than the bound: sampled records shed before any work and counted, errors and aggregates kept exactly', async () => {
    const service = 'shed';
    const port = await peers.server(60_000);
    // Every success sampled (a budget far above the rate), nothing slow.
    const c = await rig.startCollector({
      rules: [{ service, match: { port } }],
      l7RecordBudget: 1_000_000,
      l7SlowMs: 60_000,
      l7MaxLagMs: MAX_LAG_MS,
      // room for whatever else the host's programs write while this process is blocked (its records wait there)
      l7RingMb: 16,
    });
    const blocked = peers.clientBlocking(port, sequence(BLOCKED_OK, BLOCKED_FAIL));
    blockFor(MAX_LAG_MS + 500);
    expect(blocked.counts).toEqual({ 'GET /ok 200': BLOCKED_OK, 'GET /fail 503': BLOCKED_FAIL });
    await settle(2_000); // the backlog read (and shed) before the next run's records are written
    const after = await peers.client(port, sequence(AFTER_OK, 0));
    expect(after.counts).toEqual({ 'GET /ok 200': AFTER_OK });
    const total = BLOCKED_OK + BLOCKED_FAIL + AFTER_OK;
    const requests = `SELECT coalesce(sum(requests), 0)::int AS n FROM edge_minute WHERE dst_service = $1 AND protocol = 'http'`;
    expect(await rig.waitCount(requests, [service], total, 60_000)).toBe(total);
    await settle(1_000);
    await c.stop();
    // The aggregates: every exchange counted once, by status.
    const byCode = await rig.rows(
      `SELECT status_class, sum(requests)::int AS requests, sum(errors)::int AS errors FROM edge_minute
        WHERE dst_service = $1 AND protocol = 'http' GROUP BY 1 ORDER BY 1`,
      [service],
    );
    expect(byCode.reduce((s, r) => s + (r.requests as number), 0)).toBe(total);
    expect(byCode.reduce((s, r) => s + (r.errors as number), 0)).toBe(BLOCKED_FAIL);
    // The records: the blocked run's errors, none of its successes, every success of the run on time.
    const records = await rig.rows(
      `SELECT http_path AS p, http_code AS c, sampling AS s, count(*)::int AS n FROM l7_events
        WHERE dst_service = $1 AND protocol = 'http' AND type = 'RESPONSE' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [service],
    );
    expect(records).toEqual([
      { p: '/fail', c: 503, s: 'error', n: BLOCKED_FAIL },
      { p: '/ok', c: 200, s: 'sampled', n: AFTER_OK },
    ]);
    // What was shed, from the collector's last health report. The counters are the host's (another process's
    // sampled records read in the same late batches count too): at least a request and a response per blocked
    // success; nothing kept for a higher reason was shed.
    const health = (await rig.rows(`SELECT last_health FROM collectors ORDER BY last_seen_at DESC NULLS LAST LIMIT 1`))[0].last_health as {
      details: Record<string, number>;
      lostEvents: number;
    };
    const d = health.details;
    expect(d.l7ShedSampled).toBeGreaterThanOrEqual(2 * BLOCKED_OK);
    expect([d.l7ShedCapture, d.l7ShedSlow, d.l7ShedError, d.l7ShedFull]).toEqual([0, 0, 0, 0]);
    expect(d.l7LateBatches).toBeGreaterThan(0);
    expect(health.lostEvents).toBeGreaterThanOrEqual(d.l7ShedSampled!);
    expect(d.memRssMb).toBeGreaterThan(0);
    // Nothing was lost on the way in: the backlog waited in the ring (not in the heap) and was read whole.
    expect(d.l7RingbufFull).toBe(0);
  });
});
