/**
 * What each L7 mode costs per HTTP exchange, on loopback, in this process (client and server both here, so
 * the BPF programs run in this process's syscalls and show in its system CPU time). For each of: no L7
 * programs, hooks, full, signals (budget 0, budget 0 with a per-edge slow threshold on the bench's edge, and the default
 * 500/s): REQUESTS keep-alive GETs with CONCURRENCY
 * in flight, then req/s, CPU µs per exchange (user, system) and L7 records emitted per exchange.
 * With BENCH_PROG_STATS=1 (default on) it also turns on kernel.bpf_stats_enabled for the run and prints, per case,
 * each L7/TCP program's kernel time per exchange (run_time_ns / requests) and per run (run_time_ns / run_cnt),
 * from `bpftool prog show -j` (the programs that appeared when this case opened its probes).
 * BENCH_NEW_CONNECTIONS=1: a new TCP connection per request (no keep-alive), for the per-connection cost.
 * Comparing compiled objects: BENCH_OBJECTS=a.o,b.o runs each case on each object, BENCH_ROUNDS times, interleaved
 * (round by round, object after object), BENCH_CASES=signals (comma-separated substrings of case names) picks cases;
 * a last table gives each (case, object)'s kernel ns per request (all programs) over the rounds: median and each.
 * Root, real kernel; run alone: flock /tmp/sextant-kernel.lock npx tsx scripts/bench-l7-modes.ts [requests]
 */
import fs from 'node:fs';
import path from 'node:path';
import { SextantProbes, type L7Mode } from '../src/probes';
import { allProgs, startBenchHttp, STATS_SYSCTL } from './bench-http';

const REQUESTS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = 8;
const NEW_CONNECTIONS = process.env.BENCH_NEW_CONNECTIONS === '1';
const PROG_STATS = process.env.BENCH_PROG_STATS !== '0';

interface Case {
  name: string;
  l7: boolean;
  mode?: L7Mode;
  budget?: number;
  /** The bench server's edge gets a slow threshold of its own (sx_l7_slow looked up at every response). */
  slowEdge?: boolean;
}
const ALL_CASES: Case[] = [
  { name: 'no L7 programs', l7: false },
  { name: 'hooks', l7: true, mode: 'hooks' },
  { name: 'full', l7: true, mode: 'full' },
  { name: 'signals, budget 0', l7: true, mode: 'signals', budget: 0 },
  { name: 'signals, budget 0, edge threshold', l7: true, mode: 'signals', budget: 0, slowEdge: true },
  { name: 'signals, budget 500/s', l7: true, mode: 'signals', budget: 500 },
];
const PICK = (process.env.BENCH_CASES ?? '').split(',').filter(Boolean);
const CASES = PICK.length ? ALL_CASES.filter((c) => PICK.some((p) => c.name.includes(p))) : ALL_CASES;
const OBJECTS: (string | undefined)[] = (process.env.BENCH_OBJECTS ?? '').split(',').filter(Boolean);
if (OBJECTS.length === 0) OBJECTS.push(undefined);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));

const bench = await startBenchHttp({ concurrency: CONCURRENCY, keepAlive: !NEW_CONNECTIONS });

const statsBefore = PROG_STATS ? fs.readFileSync(STATS_SYSCTL, 'utf8').trim() : '';
if (PROG_STATS) fs.writeFileSync(STATS_SYSCTL, '1');
await bench.load(1_000); // warm up the JIT before the first measured case
const rows = [];
const progRows: Record<string, string | number>[] = [];
const perRun = new Map<string, number[]>(); // "case @ object" → kernel ns per request of each round
for (let round = 0; round < ROUNDS * CASES.length * OBJECTS.length; round++) {
  const c = CASES[Math.floor(round / OBJECTS.length) % CASES.length]!;
  const objectPath = OBJECTS[round % OBJECTS.length];
  const name = objectPath ? `${c.name} @ ${path.basename(objectPath)}` : c.name;
  const before = new Set(PROG_STATS ? allProgs().map((p) => p.id) : []);
  const probes = SextantProbes.open({ l7: c.l7, l7Mode: c.mode, cgroupRoot: null, updateIntervalMs: 0, objectPath });
  // The TCP ring is read as the collector reads it: left unread, its pending data passes the wakeup threshold and
  // the close program's figures become those of a stalled reader (scripts/bench-conn-state.ts BENCH_DRAIN=0).
  probes.onTcpEvents(() => undefined);
  let records = 0;
  if (c.l7) {
    probes.onL7Events((batch) => (records += batch.length));
    probes.setL7Config({ slowNs: 250_000_000, recordAllUntilNs: 0, budgetPerSec: c.budget ?? 500 });
    if (c.slowEdge)
      probes.setL7SlowEdges([{ role: 'client', family: 4, addr: '127.0.0.1', port: bench.port, thresholdNs: 10_000_000_000n }]);
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await bench.load(REQUESTS);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 300)); // the last records reach JS
  // (-1: an object built with another aggregate layout than this tree's decoder, as when comparing objects)
  const keys = () =>
    probes.drainL7Aggregates().then(
      (a) => a.length,
      () => -1,
    );
  const aggregated = c.l7 ? (await keys()) + (await keys()) : 0;
  const counters = probes.readCounters();
  if (PROG_STATS) {
    let total = 0;
    for (const p of allProgs().filter((q) => !before.has(q.id) && (q.run_cnt ?? 0) > 0)) {
      total += p.run_time_ns ?? 0;
      progRows.push({
        case: name,
        program: p.name,
        'runs/req': +((p.run_cnt ?? 0) / REQUESTS).toFixed(2),
        'ns/run': Math.round((p.run_time_ns ?? 0) / (p.run_cnt ?? 1)),
        'ns/req': Math.round((p.run_time_ns ?? 0) / REQUESTS),
      });
    }
    progRows.push({ case: name, program: '(all)', 'ns/req': Math.round(total / REQUESTS) });
    perRun.set(name, [...(perRun.get(name) ?? []), Math.round(total / REQUESTS)]);
  }
  probes.close();
  rows.push({
    case: name,
    'req/s': Math.round(REQUESTS / secs),
    'user µs/req': +(cpu.user / REQUESTS).toFixed(1),
    'sys µs/req': +(cpu.system / REQUESTS).toFixed(1),
    'records/req': +(records / REQUESTS).toFixed(3),
    'aggregated/req': +(counters.l7Aggregated / REQUESTS).toFixed(3),
    'agg keys': aggregated,
    'ring full': counters.l7RingbufFull,
  });
}
bench.close();
if (PROG_STATS) fs.writeFileSync(STATS_SYSCTL, statsBefore || '0');
console.table(rows);
if (PROG_STATS) console.table(progRows.filter((r) => r.program === '(all)' || Number(r['ns/req']) >= 20));
if (PROG_STATS && (ROUNDS > 1 || OBJECTS.length > 1)) {
  const median = (v: number[]) => v.toSorted((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.table([...perRun].map(([name, v]) => ({ case: name, 'median ns/req': median(v), rounds: v.join(' ') })));
}
