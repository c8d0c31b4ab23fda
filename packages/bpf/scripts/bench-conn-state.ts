/**
 * The kernel's connection-level cost per new connection: sx_inet_sock_set_state (and every other program of the
 * object) in ns per run and per request, from kernel.bpf_stats_enabled, for one or more compiled objects
 * interleaved round by round on the same machine. Workload: HTTP/1.1 GETs on loopback with a new TCP connection per
 * request (client and server in this process, CONCURRENCY in flight), so both ends' state changes run here.
 *   BENCH_OBJECTS=old=/tmp/old.bpf.o,new=build/bpf/sextant.bpf.o   (default: the package's object alone)
 *   BENCH_ROUNDS=3   BENCH_L7=0|1 (default 0: connection level only; 1: signals mode)
 *   BENCH_DRAIN=0: nobody reads the TCP event ring (a reader that lags: records pile up past the wakeup threshold)
 * Root, real kernel; run alone: flock /tmp/sextant-kernel.lock npx tsx scripts/bench-conn-state.ts [requests]
 */
import fs from 'node:fs';
import { OBJECT_PATH } from '../src/native';
import { SextantProbes } from '../src/probes';
import { allProgs, startBenchHttp, STATS_SYSCTL } from './bench-http';

const REQUESTS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const L7 = process.env.BENCH_L7 === '1';
const DRAIN = process.env.BENCH_DRAIN !== '0';
const OBJECTS = (process.env.BENCH_OBJECTS ?? `current=${OBJECT_PATH}`).split(',').map((s) => {
  const [name, file] = s.split('=');
  if (!name || !file || !fs.existsSync(file)) throw new Error(`BENCH_OBJECTS entry ${s}: want name=path of an existing object`);
  return { name, file };
});

const bench = await startBenchHttp({ concurrency: CONCURRENCY, keepAlive: false });

const statsBefore = fs.readFileSync(STATS_SYSCTL, 'utf8').trim();
fs.writeFileSync(STATS_SYSCTL, '1');
const rows: Record<string, string | number>[] = [];
try {
  await bench.load(2_000); // warm up the JIT before the first measured case
  for (let round = 1; round <= ROUNDS; round++) {
    for (const o of OBJECTS) {
      const before = new Set(allProgs().map((p) => p.id));
      const probes = SextantProbes.open({ objectPath: o.file, l7: L7, cgroupRoot: null, updateIntervalMs: 0, tls: false });
      let closes = 0;
      if (DRAIN) probes.onTcpEvents((batch) => (closes += batch.length));
      const cpu0 = process.cpuUsage();
      await bench.load(REQUESTS);
      const cpu = process.cpuUsage(cpu0);
      await new Promise((r) => setTimeout(r, 300)); // the last records reach JS
      const progs = allProgs().filter((q) => !before.has(q.id) && (q.run_cnt ?? 0) > 0);
      const set = progs.find((p) => p.name === 'sx_inet_sock_set_state');
      const total = progs.reduce((s, p) => s + (p.run_time_ns ?? 0), 0);
      probes.close();
      rows.push({
        round,
        object: o.name,
        'set_state runs/req': +((set?.run_cnt ?? 0) / REQUESTS).toFixed(2),
        'set_state ns/run': Math.round((set?.run_time_ns ?? 0) / (set?.run_cnt ?? 1)),
        'set_state ns/req': Math.round((set?.run_time_ns ?? 0) / REQUESTS),
        'all BPF ns/req': Math.round(total / REQUESTS),
        'sys µs/req': +(cpu.system / REQUESTS).toFixed(2),
        'records/req': +(closes / REQUESTS).toFixed(3),
      });
    }
  }
} finally {
  fs.writeFileSync(STATS_SYSCTL, statsBefore || '0');
  bench.close();
}
console.table(rows);
// Per object, the median over rounds: other work on the machine preempts programs mid-run (bpf_stats counts wall time).
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
console.table(
  OBJECTS.map((o) => {
    const mine = rows.filter((r) => r.object === o.name);
    const col = (k: string) => Math.round(median(mine.map((r) => Number(r[k]))));
    return {
      object: o.name,
      'set_state ns/run (median)': col('set_state ns/run'),
      '(min)': Math.min(...mine.map((r) => Number(r['set_state ns/run']))),
      'set_state ns/req': col('set_state ns/req'),
      'all BPF ns/req': col('all BPF ns/req'),
    };
  }),
);
