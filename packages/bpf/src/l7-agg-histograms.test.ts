/**
 * The HTTP client latency histograms in signals mode, on the real kernel (docs/l7-line-rate.md): an exchange
 * aggregated on a client socket (AGG) is timed only in its aggregate's histogram, not in sx_hist; a socket on the full
 * path (FULL, or full mode) is timed in sx_hist as before. withAggregateHistograms adds the aggregates' histograms to
 * sx_hist's, so the HTTP histogram of an edge counts every exchange exactly once, whichever path took it.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_HIST_HTTP } from './generated/events';
import { withAggregateHistograms, type HistogramRecord, type L7AggregateRecord } from './probes';
import { kernelMissing } from './testing/kernel';
import { drainAll, forPort, mix, onCleanup, probes, sleep, start, stop } from './testing/l7-signals-rig';

const noKernel = kernelMissing();
afterEach(stop);

const httpHists = (hists: readonly HistogramRecord[], port: number) =>
  hists.filter((h) => h.kind === SX_HIST_HTTP && h.remotePort === port && h.remoteIp === '127.0.0.1');
const samples = (hs: readonly { cnt: number[] }[]) => hs.reduce((s, h) => s + h.cnt.reduce((a, b) => a + b, 0), 0);

/** Aggregates of `port` (client role) until they count `want` exchanges (5 s at most). */
async function aggregatesOf(port: number, want: number): Promise<L7AggregateRecord[]> {
  const keys: L7AggregateRecord[] = [];
  const count = () => keys.reduce((s, a) => s + a.count, 0);
  for (let i = 0; i < 50 && count() < want; i++) {
    keys.push(...forPort(await drainAll(), port));
    if (count() < want) await sleep(100);
  }
  return keys;
}

/** `n` GETs of /ok on one raw connection whose first request sends its body in a second write (the socket goes FULL). */
async function fullPathSocket(port: number, n: number): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  onCleanup(() => s.destroy());
  await new Promise<void>((r) => s.once('connect', () => r()));
  let buf = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (buf += d));
  const answered = async (k: number) => {
    for (let i = 0; i < 200 && buf.split('\r\n\r\nok').length - 1 < k; i++) await sleep(10);
    expect(buf.split('\r\n\r\nok').length - 1).toBe(k);
  };
  s.write('POST /ok/body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n');
  await sleep(50);
  s.write('hello');
  await answered(1);
  for (let i = 1; i < n; i++) {
    s.write(`GET /ok/${i} HTTP/1.1\r\nHost: t\r\n\r\n`);
    await answered(i + 1);
  }
}

describe.skipIf(noKernel)('HTTP client latency histograms in signals mode', () => {
  it('AGG sockets: none in sx_hist, all in the aggregates; merged, the edge counts every exchange once', async () => {
    const { port, agent } = await start('signals', 0); // budget 0: only the 503s are kept (recorded and aggregated)
    await mix(port, agent, 300, 20, 0);
    const hists = probes().readAndResetHistograms();
    expect(httpHists(hists, port)).toEqual([]);
    const aggs = await aggregatesOf(port, 320);
    expect(aggs.reduce((s, a) => s + a.count, 0)).toBe(320);
    expect(samples(aggs)).toBe(320);
    const merged = httpHists(withAggregateHistograms(hists, aggs), port);
    expect(merged).toHaveLength(1); // one edge: the aggregates' keys (method, status, process) folded into it
    expect(samples(merged)).toBe(320);
    // bucket for bucket the aggregates' sum
    const want = new Map<number, number>();
    for (const a of aggs) a.idx.forEach((b, j) => want.set(b, (want.get(b) ?? 0) + a.cnt[j]!));
    expect(new Map(merged[0]!.idx.map((b, j) => [b, merged[0]!.cnt[j]!]))).toEqual(want);
  });

  it('a socket gone FULL in signals mode is timed in sx_hist, the AGG ones in the aggregates: the sum is every exchange', async () => {
    const { port, agent } = await start('signals', 0);
    await fullPathSocket(port, 7);
    await mix(port, agent, 50, 0, 0);
    const hists = probes().readAndResetHistograms();
    expect(samples(httpHists(hists, port))).toBe(7);
    const aggs = await aggregatesOf(port, 50);
    expect(aggs.reduce((s, a) => s + a.count, 0)).toBe(50);
    const merged = httpHists(withAggregateHistograms(hists, aggs), port);
    expect(merged).toHaveLength(1);
    expect(samples(merged)).toBe(57);
  });

  it('full mode: every exchange in sx_hist, as before (no aggregates)', async () => {
    const { port, agent } = await start('full', 0);
    await mix(port, agent, 100, 10, 0);
    const hists = probes().readAndResetHistograms();
    expect(samples(httpHists(hists, port))).toBe(110);
    expect(forPort(await drainAll(), port)).toEqual([]);
    expect(samples(httpHists(withAggregateHistograms(hists, []), port))).toBe(110);
  });
});

describe('withAggregateHistograms', () => {
  const agg = (o: Partial<L7AggregateRecord>): L7AggregateRecord => ({
    cgroupId: 1n,
    pid: 1,
    comm: 'c',
    family: 4,
    laddr: '10.0.0.1',
    raddr: '10.0.0.2',
    lport: 0,
    rport: 80,
    role: 'client',
    protocol: 'http',
    method: 'GET',
    status: 200,
    count: 1,
    latencySumNs: 0n,
    requestBytes: 0,
    responseBytes: 0,
    firstNs: 0n,
    lastNs: 0n,
    idx: [],
    cnt: [],
    ...o,
  });
  it('adds client aggregates to the HTTP histogram of their (cgroup, remote ip, port); other kinds, roles and keys untouched', () => {
    const hists: HistogramRecord[] = [
      { cgroupId: 1n, remoteIp: '10.0.0.2', remotePort: 80, kind: SX_HIST_HTTP, idx: [5, 9], cnt: [1, 2] },
      { cgroupId: 1n, remoteIp: '10.0.0.2', remotePort: 80, kind: SX_HIST_HTTP - 2, idx: [5], cnt: [4] },
    ];
    const out = withAggregateHistograms(hists, [
      agg({ idx: [9, 12], cnt: [3, 1] }),
      agg({ status: 503, idx: [3], cnt: [1] }),
      agg({ cgroupId: 2n, idx: [7], cnt: [2] }),
      agg({ role: 'server', lport: 80, rport: 0, idx: [1], cnt: [1] }),
      agg({ rport: 0, idx: [1], cnt: [1] }),
      agg({ count: 0, requestBytes: 10 }),
    ]);
    expect(out).toEqual([
      { ...hists[0], idx: [3, 5, 9, 12], cnt: [1, 1, 5, 1] },
      hists[1],
      { cgroupId: 2n, remoteIp: '10.0.0.2', remotePort: 80, kind: SX_HIST_HTTP, idx: [7], cnt: [2] },
    ]);
    expect(hists[0]!.cnt).toEqual([1, 2]); // inputs unchanged
  });
});
