/**
 * How often each BPF program runs per request, and for how long, on the TLS keep-alive workload (wrk over HTTPS to
 * nginx, both libssl): the uprobe hits behind bench:collector's tls-ka figures. Runs the collector in `hooks` mode
 * (every program returns at once: the trap floor) and in `signals` mode, with kernel.bpf_stats_enabled on during
 * wrk only (restored after), and prints run_cnt per request and run_time_ns per run of every sx_* program that
 * ran more than once per 100 requests. Each mode twice, interleaved: the TLS uprobes where probe-sites.ts puts them
 * (auto: libssl's internal read/write functions) and on the SSL_* symbols (SEXTANT_TLS_PROBE_SITES=symbols, the
 * single-stepped sites before). Root, eBPF, under the kernel lock:
 *   flock /tmp/sextant-kernel.lock npx tsx apps/collector/bench/tls-probe-runs.ts
 */
import { execFileSync } from 'node:child_process';
import { requireTools, startCollector, startRig, wrk } from './harness';

requireTools('tls-probe-runs');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

/** run_cnt and run_time_ns of the loaded sx_* programs, summed by name. */
function programRuns(): Record<string, { runs: number; ns: number }> {
  const all = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j']).toString()) as {
    name?: string;
    run_cnt?: number;
    run_time_ns?: number;
  }[];
  const byName: Record<string, { runs: number; ns: number }> = {};
  for (const p of all) {
    if (!p.name?.startsWith('sx_')) continue;
    const e = (byName[p.name] ??= { runs: 0, ns: 0 });
    e.runs += p.run_cnt ?? 0;
    e.ns += p.run_time_ns ?? 0;
  }
  return byName;
}

const statsBefore = execFileSync('sysctl', ['-n', 'kernel.bpf_stats_enabled']).toString().trim();
const setStats = (v: string) => execFileSync('sysctl', ['-q', '-w', `kernel.bpf_stats_enabled=${v}`]);
const rig = await startRig();
try {
  for (const [mode, sites] of [
    ['hooks', 'symbols'],
    ['hooks', 'auto'],
    ['signals', 'symbols'],
    ['signals', 'auto'],
  ] as const) {
    const collector = await startCollector(rig, { SEXTANT_L7_MODE: mode, SEXTANT_TLS_PROBE_SITES: sites });
    setStats('1');
    const before = programRuns();
    const r = await wrk(rig, { seconds: SECONDS, connections: 32, tls: true });
    const after = programRuns();
    setStats(statsBefore);
    console.log(
      `${mode}, sites ${sites}: ${r.requests} requests (${r.rps.toFixed(0)} req/s, bpf_stats on), machine ${r.machineCpuUsPerRequest.toFixed(1)} µs/request`,
    );
    for (const [name, v] of Object.entries(after)) {
      const runs = v.runs - (before[name]?.runs ?? 0);
      if (runs <= r.requests / 100) continue;
      const ns = (v.ns - (before[name]?.ns ?? 0)) / runs;
      console.log(`  ${name.padEnd(24)} ${(runs / r.requests).toFixed(2)} runs/request  ${ns.toFixed(0)} ns/run`);
    }
    await collector.stop();
  }
} finally {
  setStats(statsBefore);
  rig.close();
}
