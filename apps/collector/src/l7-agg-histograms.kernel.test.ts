/**
 * The kernel's HTTP latency histograms end to end (real kernel, real traffic, shipped into PostgreSQL): in signals
 * mode an aggregated client exchange is timed only in its aggregate's histogram (docs/l7-line-rate.md), which the
 * collector adds to the sx_hist histograms it ships; in full mode sx_hist times every exchange. Either way the
 * edge's stored latency histogram (latency_minute) counts exactly the exchanges the client made, as its requests do.
 */
import { describe, expect, it } from 'vitest';
import { HttpMix } from './testing/http-mix';
import { kernelRig, settle } from './testing/kernel-rig';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('l7-agg-histograms-test');
const peers = new HttpMix();
rig.onClose(() => peers.close());

const one = async (sql: string, service: string) => ((await rig.rows(sql, [service]))[0]?.n as number | null) ?? 0;
const requests = (service: string) =>
  one(`SELECT coalesce(sum(requests), 0)::int AS n FROM edge_minute WHERE dst_service = $1 AND protocol = 'http'`, service);
const samples = (service: string) =>
  one(`SELECT coalesce(sum(samples), 0)::int AS n FROM latency_minute WHERE dst_service = $1 AND kind = 'http'`, service);

async function run(mode: 'full' | 'signals', total: number): Promise<{ requests: number; samples: number; aggregated: number }> {
  const service = `hist-${mode}`;
  const port = await peers.server(10_000);
  const c = await rig.startCollector({ rules: [{ service, match: { port } }], l7Mode: mode, l7RecordBudget: 50 });
  const got = await peers.client(port, { total, connections: 2, failEvery: 40, slowAt: [] });
  expect(got.counts).toEqual({ 'GET /fail 503': total / 40, 'GET /ok 200': total - total / 40 });
  await waitFor(
    () => requests(service),
    (n) => n >= total,
    60_000,
  );
  const aggregated = c.counters()!.l7Aggregated;
  await c.stop(); // (the last window's histograms and aggregates are shipped here)
  await waitFor(
    () => samples(service),
    (n) => n >= total,
    20_000,
  );
  await settle(1_000); // and nothing more may arrive
  return { requests: await requests(service), samples: await samples(service), aggregated };
}

describe.skipIf(rig.skip)('HTTP latency histograms on the real kernel', () => {
  it('signals mode: the stored histogram counts every exchange once (from the aggregates), as full mode (from sx_hist)', async () => {
    const total = 4_000;
    const signals = await run('signals', total);
    expect(signals.aggregated).toBeGreaterThanOrEqual(total); // the exchanges took the aggregated path
    expect([signals.requests, signals.samples]).toEqual([total, total]);
    const full = await run('full', total);
    expect([full.requests, full.samples]).toEqual([total, total]);
  });
});
