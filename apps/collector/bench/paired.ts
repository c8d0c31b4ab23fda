/**
 * bench:collector's paired mode (BENCH_PAIRED=1): the throughput ratio on/off from short slices of the workload
 * alternated within one warm collector, which detaches its programs for the "off" slices (SEXTANT_BENCH_PAUSE:
 * the process stays, idle, with its maps, rings and state) and attaches them again for the "on" ones.
 *
 * Why: on these shared 2-core VMs a workload's throughput moves in steps of up to ±20 % that last tens of seconds
 * (wrk alone in 1 s slices: 97k for 17 s, then 76k), while the default mode's "off" runs are ~20 s from the "on"
 * run they are compared with. Slices of a few seconds next to each other see the same step; each pair gives a
 * ratio, the order within pairs alternates (on-off, off-on, ...) so that a drift during a pair favours neither,
 * and the median of many pairs is the figure.
 *
 * BENCH_PAIRS (default 20) pairs of BENCH_SLICE seconds (default 2) after BENCH_WARMUP seconds of the workload with
 * the collector on. Prints the median ratio with its spread, the pairs on which "on" was slower, machine CPU per
 * request on/off (medians of the slices), the collector's CPU while on and while paused, peak RSS, and in
 * signals mode the requests counted against wrk's (the "on" slices and the warm-up; exact when pausing loses
 * nothing of what was seen). BENCH_PAIRED_NULL=1: the collector stays paused in the "on" slices too, so that the
 * ratios show the method's own spread on this box (their median should be ~1).
 */
import { pct, startCollector, wrk, type Rig, type WrkOptions, type WrkResult } from './harness';

export interface PairedOptions {
  title: string;
  env: Record<string, string>;
  wrk: Omit<WrkOptions, 'seconds'>;
  pairs: number;
  sliceSeconds: number;
  warmupSeconds: number;
}

const NULL = process.env.BENCH_PAIRED_NULL === '1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;

export async function pairedWorkload(rig: Rig, o: PairedOptions): Promise<void> {
  const countedBefore = rig.counts.aggregatedToNginx + rig.counts.fullPathToNginx;
  const collector = await startCollector(rig, { ...o.env, SEXTANT_BENCH_PAUSE: '1' });
  let requestsOn = 0;
  let stopped = false;
  try {
    if (o.warmupSeconds > 0) requestsOn += (await wrk(rig, { ...o.wrk, seconds: o.warmupSeconds })).requests;
    const ratios: number[] = [];
    const cpuOn: number[] = [];
    const cpuOff: number[] = [];
    let collectorOn = { cpu: 0, wall: 0, requests: 0 };
    let collectorPaused = { cpu: 0, wall: 0 };
    const slice = async (on: boolean): Promise<WrkResult> => {
      await collector.setPaused(!on || NULL);
      collector.mark();
      const r = await wrk(rig, { ...o.wrk, seconds: o.sliceSeconds });
      const used = collector.cpuSinceMark();
      if (on) {
        collectorOn = {
          cpu: collectorOn.cpu + used.cpuSeconds,
          wall: collectorOn.wall + used.wallSeconds,
          requests: collectorOn.requests + r.requests,
        };
        requestsOn += r.requests;
        cpuOn.push(r.machineCpuUsPerRequest);
      } else {
        collectorPaused = { cpu: collectorPaused.cpu + used.cpuSeconds, wall: collectorPaused.wall + used.wallSeconds };
        cpuOff.push(r.machineCpuUsPerRequest);
      }
      return r;
    };
    for (let i = 0; i < o.pairs; i++) {
      const onFirst = i % 2 === 0;
      const a = await slice(onFirst);
      const b = await slice(!onFirst);
      ratios.push(onFirst ? a.rps / b.rps : b.rps / a.rps);
    }
    await collector.setPaused(false);
    // the last aggregates ride on the final batch, sent at stop
    await new Promise((r) => setTimeout(r, 2_000));
    const rss = collector.peakRssMb();
    const { lostEvents: lost = 0, l7ForcedCollections: forced = 0, l7HeapBatches: heapBatches = 0 } = rig.counts.lastHealth;
    stopped = true;
    await collector.stop();
    const counted = rig.counts.aggregatedToNginx + rig.counts.fullPathToNginx - countedBefore;

    console.log(`\n${o.title} — paired, ${o.pairs} pairs of ${o.sliceSeconds} s slices${NULL ? ' (NULL: paused in both)' : ''}`);
    console.log(
      `  ratio on/off          ${median(ratios).toFixed(3)} median; middle half ${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}; on slower in ${ratios.filter((r) => r < 1).length} of ${ratios.length} pairs`,
    );
    console.log(`  pairs                 ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
    const off = median(cpuOff);
    const on = median(cpuOn);
    console.log(
      `  machine CPU/request   off ${off.toFixed(2)} µs, on ${on.toFixed(2)} µs (+${(on - off).toFixed(2)} µs, ${pct(on / off - 1)}; slice medians)`,
    );
    const onPct = (collectorOn.cpu / collectorOn.wall) * 100;
    const onRps = collectorOn.requests / collectorOn.wall;
    console.log(
      `  collector CPU         on ${onPct.toFixed(1)} % of a core (${(onPct / (onRps / 10_000)).toFixed(1)} % per 10k req/s, ${((collectorOn.cpu / collectorOn.requests) * 1e6).toFixed(2)} µs per request); paused ${((collectorPaused.cpu / collectorPaused.wall) * 100).toFixed(1)} %`,
    );
    console.log(
      `  collector peak RSS    ${rss.toFixed(0)} MB; lost events ${lost}; heap bound: ${forced} forced full collections, ${heapBatches} L7 batches over it`,
    );
    if (o.env.SEXTANT_L7 !== '0' && !o.env.SEXTANT_L7_MODE && !NULL)
      console.log(
        `  requests counted      ${counted} vs wrk ${requestsOn} while on (warm-up included): difference ${counted - requestsOn}`,
      );
  } finally {
    if (!stopped) await collector.stop();
  }
}
