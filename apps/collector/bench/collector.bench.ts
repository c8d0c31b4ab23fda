/**
 * bench:collector — wrk against nginx on loopback with the collector off, on, and off again, in one run, for
 * four workloads: keep-alive requests with everything on (L7 capture included, the default), keep-alive
 * with connection-level observation only (SEXTANT_L7=0), the same without per-packet UDP accounting and
 * interim reports (the lean connection-level setup), and a new TCP connection per request (the worst
 * case for connection tracking: 2 kernel connection events per request). Prints, per workload: throughput
 * ratio on/off, collector CPU (% of a core, and per 10k req/s), peak RSS and lost events.
 * BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32), BENCH_WORKLOADS (comma list of ka,ka-l4,ka-lean,close).
 */
import { pct, requireTools, startCollector, startRig, wrk, type Rig } from './harness';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'ka,ka-l4,ka-lean,close').split(',');
requireTools('bench:collector');

const DESCRIPTIONS: Record<string, { title: string; close: boolean; env: Record<string, string> }> = {
  ka: { title: 'keep-alive, collector with L7 capture (default)', close: false, env: {} },
  'ka-l4': { title: 'keep-alive, connection-level only (SEXTANT_L7=0)', close: false, env: { SEXTANT_L7: '0' } },
  'ka-lean': {
    title: 'keep-alive, connections at close only, no per-packet UDP accounting (SEXTANT_L7=0 SEXTANT_UDP_FLOWS=0 SEXTANT_UPDATE_INTERVAL_MS=0)',
    close: false,
    env: { SEXTANT_L7: '0', SEXTANT_UDP_FLOWS: '0', SEXTANT_UPDATE_INTERVAL_MS: '0' },
  },
  close: { title: 'new TCP connection per request, collector with L7 capture', close: true, env: {} },
};

async function workload(rig: Rig, name: string): Promise<void> {
  const d = DESCRIPTIONS[name];
  if (!d) throw new Error(`unknown workload ${name} (ka, ka-l4, ka-lean, close)`);
  const opts = { seconds: SECONDS, connections: CONNECTIONS, close: d.close };
  await wrk(rig, { ...opts, seconds: 2 }); // warm-up
  const off1 = await wrk(rig, opts);
  const collector = await startCollector(rig, d.env);
  collector.mark();
  const on = await wrk(rig, opts);
  const { cpuSeconds, wallSeconds } = collector.cpuSinceMark();
  // Final health report and batches: when the collector fell behind (flat out), its backlog is still being
  // worked off; wait until the counts stop growing (at most 30 s) so that captured/sent is not a snapshot.
  await new Promise((r) => setTimeout(r, 4_000));
  for (let last = -1, i = 0; i < 30 && rig.counts.l7Total !== last; i++) {
    last = rig.counts.l7Total;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const rss = collector.peakRssMb();
  const mapped = collector.bpfMappedMb();
  // The last report (every 2 s) is this collector's: its count runs from its own start.
  const lost = rig.counts.lastHealth.lostEvents ?? 0;
  await collector.stop();
  const off2 = await wrk(rig, opts);
  const off = (off1.rps + off2.rps) / 2;
  const cpuPct = (cpuSeconds / wallSeconds) * 100;
  console.log(`\n${d.title}`);
  console.log(`  throughput off        ${off1.rps.toFixed(0)} / ${off2.rps.toFixed(0)} req/s (mean ${off.toFixed(0)})`);
  console.log(`  throughput on         ${on.rps.toFixed(0)} req/s`);
  console.log(`  ratio on/off          ${(on.rps / off).toFixed(3)}  (target >= 0.97)`);
  console.log(`  collector CPU         ${cpuPct.toFixed(1)} % of a core; ${(cpuPct / (on.rps / 10_000)).toFixed(1)} % per 10k req/s  (target <= 10 %)`);
  console.log(`  collector peak RSS    ${rss.toFixed(0)} MB  (target <= 150 MB); of which BPF ring buffer mappings ${mapped.toFixed(0)} MB`);
  console.log(`  lost events           ${lost}  (target 0)`);
  if (!d.env.SEXTANT_L7) console.log(`  HTTP exchanges        ${rig.counts.httpToNginx} of ${on.requests} requests (${pct(rig.counts.httpToNginx / on.requests)})`);
  rig.resetCounts();
}

const rig = await startRig();
try {
  console.log(`bench:collector — nginx on loopback, wrk -t1 -c${CONNECTIONS} ${SECONDS}s per run, ${process.env.BENCH_NODE_FLAGS ?? ''} 2 cores`);
  for (const w of WORKLOADS) await workload(rig, w);
} finally {
  rig.close();
}
