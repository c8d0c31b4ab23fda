/**
 * bench:collector — wrk against nginx on loopback with the collector off and on, alternated in one run, per
 * workload: keep-alive requests with everything on (ka: L7 in signals mode, the default — HTTP counted in kernel
 * aggregates, records where they matter), the same with every exchange a record (ka-full, SEXTANT_L7_MODE=full),
 * with the L7 hooks attached and doing nothing (ka-hooks: the floor any L7 capture on these hooks pays),
 * connection-level observation only (ka-l4, SEXTANT_L7=0: TCP connections, interim reports, UDP flows, drops,
 * histograms), the same without UDP flows and interim reports (ka-lean), and a new TCP connection per request
 * (close, close-full, close-l4, close-lean: the worst case for connection tracking, 2 kernel connection events
 * per request), and keep-alive over TLS to nginx's HTTPS listener (tls-ka, tls-ka-full, tls-ka-hooks, tls-ka-l4: wrk
 * and nginx both link the system libssl, whose plaintext the collector reads through uprobes; tls-ka-sym and
 * tls-ka-hooks-sym: the same with the uprobes on the SSL_* symbols, single-stepped in Debian's libssl). Prints, per workload:
 * throughput ratio on/off, machine CPU added per request, collector CPU
 * (% of a core, and per 10k req/s), peak RSS, lost events; in signals mode the requests counted (aggregates +
 * full-path records) against wrk's own count, and the records kept by reason; in full mode records per request.
 * BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (off/on alternations, default 3),
 * BENCH_WORKLOADS (comma list of ka,ka-full,ka-hooks,ka-l4,ka-lean,close,close-full,close-l4,close-lean,tls-ka,
 * tls-ka-full,tls-ka-hooks,tls-ka-l4,tls-ka-sym,tls-ka-hooks-sym,custom;
 * default ka,ka-full,ka-hooks,ka-l4,close,close-l4). BENCH_RATE (req/s) paces wrk instead of
 * running flat out, to read CPU, RSS and lost events at a given rate (the ratio is then ~1 by construction);
 * it sets the connection count to rate × 2 ms unless BENCH_CONNECTIONS is given. BENCH_BASELINE=path/to/bundle.mjs runs a second collector build (e.g. of an earlier commit, made
 * with `npm run bench:baseline -- <git ref>`) in the same rounds, so that two versions are compared side by side.
 * BENCH_WARMUP (seconds, default 10): each collector started runs the workload this long before its measured run, so
 * that the figures are the steady state of a collector that runs for days (a fresh process spends its first seconds
 * compiling: V8's optimizing compiler on its worker threads was a quarter of the collector's CPU in the first 5 s of
 * `close`); what the warm-up cost is printed on its own line. BENCH_WARMUP=0: measured from the start, as before.
 * BENCH_PAIRED=1: the throughput ratio from BENCH_PAIRS (default 20) pairs of BENCH_SLICE-second (default 2) slices,
 * on and off alternated within one warm collector that detaches its programs for the "off" slices (paired.ts: the
 * box's throughput drifts more between the default mode's runs than observing costs). Not for tls-* workloads.
 */
import { WIRE_SCHEMA_VERSION } from '@sextant/shared';
import { pct, requireTools, startCollector, startRig, wrk, type Rig } from './harness';
import { pairedWorkload } from './paired';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
// wrk paces each connection with a whole-millisecond delay: 2 ms per request and rate × 2 / 1000 connections.
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? (RATE ? Math.max(1, Math.round((RATE * 2) / 1000)) : 32));
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'ka,ka-full,ka-hooks,ka-l4,close,close-l4').split(',');
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const WARMUP = Math.max(0, Number(process.env.BENCH_WARMUP ?? 10));
// BENCH_PAIRED=1: the ratio from short on/off slices alternated within one collector (paired.ts).
const PAIRED = process.env.BENCH_PAIRED === '1';
requireTools('bench:collector');

const DESCRIPTIONS: Record<string, { title: string; close: boolean; tls?: boolean; env: Record<string, string> }> = {
  ka: {
    title: 'keep-alive, collector with L7 in signals mode (default: kernel aggregates, records where they matter)',
    close: false,
    env: {},
  },
  'ka-full': { title: 'keep-alive, every exchange a record (SEXTANT_L7_MODE=full)', close: false, env: { SEXTANT_L7_MODE: 'full' } },
  'ka-hooks': {
    title: 'keep-alive, L7 hooks attached and returning at once (SEXTANT_L7_MODE=hooks: the floor of the hooks)',
    close: false,
    env: { SEXTANT_L7_MODE: 'hooks' },
  },
  'ka-l4': { title: 'keep-alive, connection-level only (SEXTANT_L7=0)', close: false, env: { SEXTANT_L7: '0' } },
  'ka-lean': {
    title: 'keep-alive, connections at close only, no UDP flows (SEXTANT_L7=0 SEXTANT_UDP_FLOWS=0 SEXTANT_UPDATE_INTERVAL_MS=0)',
    close: false,
    env: { SEXTANT_L7: '0', SEXTANT_UDP_FLOWS: '0', SEXTANT_UPDATE_INTERVAL_MS: '0' },
  },
  close: { title: 'new TCP connection per request, collector with L7 in signals mode (default)', close: true, env: {} },
  'close-full': {
    title: 'new TCP connection per request, every exchange a record (SEXTANT_L7_MODE=full)',
    close: true,
    env: { SEXTANT_L7_MODE: 'full' },
  },
  'close-l4': { title: 'new TCP connection per request, connection-level only (SEXTANT_L7=0)', close: true, env: { SEXTANT_L7: '0' } },
  'close-lean': {
    title:
      'new TCP connection per request, connections at close only, no UDP flows (SEXTANT_L7=0 SEXTANT_UDP_FLOWS=0 SEXTANT_UPDATE_INTERVAL_MS=0)',
    close: true,
    env: { SEXTANT_L7: '0', SEXTANT_UDP_FLOWS: '0', SEXTANT_UPDATE_INTERVAL_MS: '0' },
  },
  'tls-ka': {
    title: 'keep-alive over TLS (HTTPS to nginx), collector with L7 in signals mode (default)',
    close: false,
    tls: true,
    env: {},
  },
  'tls-ka-full': {
    title: 'keep-alive over TLS, every exchange a record (SEXTANT_L7_MODE=full)',
    close: false,
    tls: true,
    env: { SEXTANT_L7_MODE: 'full' },
  },
  'tls-ka-hooks': {
    title: 'keep-alive over TLS, L7 hooks and TLS uprobes attached and returning at once (SEXTANT_L7_MODE=hooks: their floor)',
    close: false,
    tls: true,
    env: { SEXTANT_L7_MODE: 'hooks' },
  },
  'tls-ka-l4': { title: 'keep-alive over TLS, connection-level only (SEXTANT_L7=0)', close: false, tls: true, env: { SEXTANT_L7: '0' } },
  // The TLS uprobes on the SSL_* symbols even where the kernel single-steps them (libssl's SSL_read/SSL_write):
  // the sites before probe-sites.ts, to compare with tls-ka / tls-ka-hooks in one sitting.
  'tls-ka-sym': {
    title: 'keep-alive over TLS, signals mode, TLS uprobes on the SSL_* symbols (SEXTANT_TLS_PROBE_SITES=symbols)',
    close: false,
    tls: true,
    env: { SEXTANT_TLS_PROBE_SITES: 'symbols' },
  },
  'tls-ka-hooks-sym': {
    title: 'keep-alive over TLS, hooks mode, TLS uprobes on the SSL_* symbols (SEXTANT_TLS_PROBE_SITES=symbols)',
    close: false,
    tls: true,
    env: { SEXTANT_L7_MODE: 'hooks', SEXTANT_TLS_PROBE_SITES: 'symbols' },
  },
  // Any other collector setup, for experiments: BENCH_CUSTOM_ENV='SEXTANT_L7=0 SEXTANT_UDP_FLOWS=0';
  // BENCH_CUSTOM_CLOSE=1: with a new connection per request instead of keep-alive.
  custom: {
    title: `${process.env.BENCH_CUSTOM_CLOSE === '1' ? 'new TCP connection per request' : 'keep-alive'}, ${process.env.BENCH_CUSTOM_ENV ?? '(BENCH_CUSTOM_ENV unset)'}`,
    close: process.env.BENCH_CUSTOM_CLOSE === '1',
    env: parseEnv(process.env.BENCH_CUSTOM_ENV ?? ''),
  },
};

function parseEnv(spec: string): Record<string, string> {
  return Object.fromEntries(
    spec
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => {
        const i = kv.indexOf('=');
        if (i < 1) throw new Error(`BENCH_CUSTOM_ENV: expected NAME=value, got ${kv}`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Variant {
  name: string;
  /** The collector's entry point; undefined: this checkout's. */
  entry?: string;
  ons: number[];
  onCpu: number[];
  ratios: number[];
  cpuSeconds: number;
  wallSeconds: number;
  /** The warm-up runs: the collector's CPU seconds and the requests served. */
  warmCpuSeconds: number;
  warmRequests: number;
  rss: number;
  mapped: number;
  lost: number;
  /** The heap bound's forced full collections and batches over the bound (SEXTANT_L7_MAX_HEAP_MB), all runs. */
  forcedCollections: number;
  heapBatches: number;
  requests: number;
  /** HTTP exchanges with nginx that this variant's batches carried. */
  http: number;
  /** Signals mode: exchanges with nginx counted (aggregates + full-path records), records kept by reason. */
  counted: number;
  kept: Record<string, number>;
  /** Per run: counted − wrk's requests. */
  countDiffs: number[];
}

// BENCH_BASELINE=file: a collector bundle built from another commit (see README), run in the same rounds.
const BASELINE = process.env.BENCH_BASELINE;
// BENCH_ENTRY=file: a collector bundle run in place of this checkout's (e.g. a snapshot while the tree is mid-edit).
const ENTRY = process.env.BENCH_ENTRY;

async function workload(rig: Rig, name: string): Promise<void> {
  const d = DESCRIPTIONS[name];
  if (!d) throw new Error(`unknown workload ${name} (${Object.keys(DESCRIPTIONS).join(', ')})`);
  const opts = { seconds: SECONDS, connections: CONNECTIONS, close: d.close, rate: RATE, tls: d.tls };
  await wrk(rig, { ...opts, seconds: 2 }); // warm-up
  if (PAIRED) {
    if (d.tls) throw new Error(`BENCH_PAIRED: ${name} runs over TLS, whose uprobes stay attached while paused`);
    const pairs = Math.max(1, Number(process.env.BENCH_PAIRS ?? 20));
    const sliceSeconds = Math.max(1, Number(process.env.BENCH_SLICE ?? 2));
    return pairedWorkload(rig, { title: d.title, env: d.env, wrk: opts, pairs, sliceSeconds, warmupSeconds: WARMUP });
  }
  const variant = (v: string, entry?: string): Variant => ({
    name: v,
    entry,
    ons: [],
    onCpu: [],
    ratios: [],
    cpuSeconds: 0,
    wallSeconds: 0,
    warmCpuSeconds: 0,
    warmRequests: 0,
    rss: 0,
    mapped: 0,
    lost: 0,
    forcedCollections: 0,
    heapBatches: 0,
    requests: 0,
    http: 0,
    counted: 0,
    kept: {},
    countDiffs: [],
  });
  const main = ENTRY ? `entry ${ENTRY}` : 'this checkout';
  const variants = BASELINE ? [variant(main, ENTRY), variant(`baseline ${BASELINE}`, BASELINE)] : [variant(ENTRY ? main : '', ENTRY)];
  // Two cores shared by wrk, nginx and the collector make single runs noisy (±4 %): alternate off and on
  // ROUNDS times (each variant in every round) and take the median of each "on" against the mean of the
  // "off" runs either side of it.
  const first = await wrk(rig, opts);
  const offs = [first.rps];
  const offCpu = [first.machineCpuUsPerRequest];
  for (let round = 0; round < ROUNDS; round++) {
    // with a baseline, which one goes first alternates between rounds
    const order = round % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      const httpBefore = rig.counts.httpToNginx;
      const countedBefore = rig.counts.aggregatedToNginx + rig.counts.fullPathToNginx;
      const keptBefore = rig.counts.keptToNginx;
      const collector = await startCollector(rig, d.env, v.entry);
      let warmRequests = 0;
      if (WARMUP > 0) {
        collector.mark();
        warmRequests = (await wrk(rig, { ...opts, seconds: WARMUP })).requests;
        v.warmCpuSeconds += collector.cpuSinceMark().cpuSeconds;
        v.warmRequests += warmRequests;
      }
      collector.mark();
      const on = await wrk(rig, opts);
      const used = collector.cpuSinceMark();
      v.cpuSeconds += used.cpuSeconds;
      v.wallSeconds += used.wallSeconds;
      v.ons.push(on.rps);
      v.onCpu.push(on.machineCpuUsPerRequest);
      v.requests += on.requests;
      // Final health report and batches: when the collector fell behind (flat out), its backlog is still being
      // worked off; wait until the counts stop growing (at most 30 s) so that captured/sent is not a snapshot.
      await new Promise((r) => setTimeout(r, 4_000));
      for (let last = -1, i = 0; i < 30 && rig.counts.l7Total !== last; i++) {
        last = rig.counts.l7Total;
        await new Promise((r) => setTimeout(r, 2_000));
      }
      v.http += rig.counts.httpToNginx - httpBefore;
      // (the collector's last aggregates and records ride on its final batch, sent at stop: read after it)
      v.rss = Math.max(v.rss, collector.peakRssMb());
      v.mapped = Math.max(v.mapped, collector.bpfMappedMb());
      // The last report (every 2 s) is this collector's: its count runs from its own start.
      v.lost += rig.counts.lastHealth.lostEvents ?? 0;
      v.forcedCollections += rig.counts.lastHealth.l7ForcedCollections ?? 0;
      v.heapBatches += rig.counts.lastHealth.l7HeapBatches ?? 0;
      await collector.stop();
      const counted = rig.counts.aggregatedToNginx + rig.counts.fullPathToNginx - countedBefore;
      v.counted += counted;
      v.countDiffs.push(counted - on.requests - warmRequests);
      for (const [k, n] of Object.entries(rig.counts.keptToNginx)) v.kept[k] = (v.kept[k] ?? 0) + n - (keptBefore[k] ?? 0);
      const off = await wrk(rig, opts);
      v.ratios.push(on.rps / ((offs[offs.length - 1]! + off.rps) / 2));
      offs.push(off.rps);
      offCpu.push(off.machineCpuUsPerRequest);
    }
  }
  console.log(`\n${d.title}`);
  console.log(`  throughput off        ${offs.map((x) => x.toFixed(0)).join(' / ')} req/s`);
  const cpuOff = median(offCpu);
  for (const v of variants) {
    if (v.name) console.log(`  — collector: ${v.name}`);
    const onRps = v.ons.reduce((a, b) => a + b, 0) / v.ons.length;
    const cpuPct = (v.cpuSeconds / v.wallSeconds) * 100;
    const cpuOn = median(v.onCpu);
    console.log(`  throughput on         ${v.ons.map((x) => x.toFixed(0)).join(' / ')} req/s`);
    console.log(
      `  ratio on/off          ${median(v.ratios).toFixed(3)} median of ${v.ratios.map((r) => r.toFixed(3)).join(', ')}  (target >= 0.97)`,
    );
    // Paced below saturation (BENCH_RATE), this isolates what observing costs per request better than the ratio.
    console.log(
      `  machine CPU/request   off ${cpuOff.toFixed(2)} µs, on ${cpuOn.toFixed(2)} µs (+${(cpuOn - cpuOff).toFixed(2)} µs, ${pct(cpuOn / cpuOff - 1)}; collector process ${((v.cpuSeconds / v.requests) * 1e6).toFixed(2)} µs)`,
    );
    console.log(
      `  collector CPU         ${cpuPct.toFixed(1)} % of a core; ${(cpuPct / (onRps / 10_000)).toFixed(1)} % per 10k req/s  (target <= 10 %)`,
    );
    console.log(
      `  collector peak RSS    ${v.rss.toFixed(0)} MB  (target <= 150 MB); of which BPF ring buffer mappings ${v.mapped.toFixed(0)} MB`,
    );
    if (WARMUP > 0)
      console.log(
        `  warm-up (first ${WARMUP} s after start) collector process ${((v.warmCpuSeconds / v.warmRequests) * 1e6).toFixed(2)} µs per request (not in the figures above)`,
      );
    console.log(`  lost events           ${v.lost}  (target 0)`);
    const mode = d.env.SEXTANT_L7 === '0' ? 'off' : (d.env.SEXTANT_L7_MODE ?? 'signals');
    if (mode === 'full') console.log(`  HTTP records          ${v.http} of ${v.requests} requests (${pct(v.http / v.requests)})`);
    if (mode === 'signals') {
      console.log(
        `  requests counted      ${v.counted} (aggregates + full-path records) vs wrk ${v.requests + v.warmRequests}${WARMUP > 0 ? ' (warm-ups included)' : ''}: difference ${v.counted - v.requests - v.warmRequests} (per run ${v.countDiffs.join(', ')}; target 0)`,
      );
      const kept = Object.entries(v.kept)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      console.log(`  records kept          ${kept || 'none'}; full path ${v.http - Object.values(v.kept).reduce((a, b) => a + b, 0)}`);
      console.log(`  heap bound            ${v.forcedCollections} forced full collections, ${v.heapBatches} L7 batches over it`);
    }
  }
  rig.resetCounts();
}

const rig = await startRig();
try {
  console.log(
    `bench:collector — nginx on loopback, wrk -t1 -c${CONNECTIONS} ${SECONDS}s per run${WARMUP > 0 ? ` after ${WARMUP}s of warm-up per collector` : ''}${RATE ? `, paced at ${RATE} req/s` : ', flat out'}, ${process.env.BENCH_NODE_FLAGS ?? ''} wire schema ${WIRE_SCHEMA_VERSION}, 2 cores`,
  );
  for (const w of WORKLOADS) await workload(rig, w);
} finally {
  rig.close();
}
