/**
 * bench:l7 — keep-alive HTTP from wrk to nginx on loopback at rising request rates (rate-limited through a
 * Lua delay script), with the collector and its L7 capture on; then flat out with the collector off and on.
 * Prints per rate: requests sent, HTTP exchanges captured and paired (captured/sent; targets 1.0 up to 5k
 * req/s, ≥ 0.999 at 20k), lost kernel events, collector CPU per 10k req/s; and the throughput ratio on/off.
 * BENCH_RATES (default 1000,5000,20000), BENCH_SECONDS (default 10).
 */
import { pct, requireTools, startCollector, startRig, wrk } from './harness';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = (process.env.BENCH_RATES ?? '1000,5000,20000').split(',').map(Number);
requireTools('bench:l7');

const rig = await startRig();
try {
  console.log(`bench:l7 — nginx on loopback, keep-alive, ${SECONDS}s per rate, 2 cores`);
  const collector = await startCollector(rig);
  console.log('target req/s   sent req/s   requests   captured   captured/sent   lost   CPU % core   CPU per 10k req/s   peak RSS MB');
  for (const rate of RATES) {
    // ~10 ms between a response and the next request on each connection, so the round trip adds little.
    const connections = Math.max(2, Math.round(rate / 100));
    const lost0 = rig.counts.lastHealth.lostEvents ?? 0;
    rig.resetCounts();
    collector.mark();
    const r = await wrk(rig, { seconds: SECONDS, connections, rate });
    const { cpuSeconds, wallSeconds } = collector.cpuSinceMark();
    await new Promise((res) => setTimeout(res, 4_500)); // connections closed, last batches and health shipped
    const lost = (rig.counts.lastHealth.lostEvents ?? 0) - lost0;
    const cpuPct = (cpuSeconds / wallSeconds) * 100;
    console.log(
      `${String(rate).padStart(12)}   ${r.rps.toFixed(0).padStart(10)}   ${String(r.requests).padStart(8)}   ${String(rig.counts.httpToNginx).padStart(8)}   ${(rig.counts.httpToNginx / r.requests).toFixed(4).padStart(13)}   ${String(lost).padStart(4)}   ${cpuPct.toFixed(1).padStart(10)}   ${(cpuPct / (r.rps / 10_000)).toFixed(1).padStart(17)}   ${collector.peakRssMb().toFixed(0).padStart(11)}`,
    );
  }
  const on = await wrk(rig, { seconds: SECONDS, connections: 32 });
  console.log(
    `peak RSS of the collector: ${collector.peakRssMb().toFixed(0)} MB (of which BPF ring buffer mappings ${collector.bpfMappedMb().toFixed(0)} MB); unparsed share ${pct((rig.counts.lastHealth.unparsedBytes ?? 0) / Math.max(1, (rig.counts.lastHealth.parsedBytes ?? 0) + (rig.counts.lastHealth.unparsedBytes ?? 0)))}`,
  );
  await collector.stop();
  const off = await wrk(rig, { seconds: SECONDS, connections: 32 });
  console.log(
    `flat out (wrk -c32): off ${off.rps.toFixed(0)} req/s, on ${on.rps.toFixed(0)} req/s → ratio on/off ${(on.rps / off.rps).toFixed(3)} (target >= 0.97)`,
  );
} finally {
  rig.close();
}
