/**
 * Per-program kernel cost of L7 capture on bench:collector's keep-alive workload (wrk -t1 -c32 against nginx with
 * one worker on loopback), without the collector: this process opens the probes itself (hooks and signals mode, and
 * any BENCH_OBJECTS, interleaved BENCH_ROUNDS times) and prints, per case, each program's runs per request (which
 * syscalls wrk and nginx make per request), ns per run and ns per request (kernel.bpf_stats_enabled), wrk's req/s
 * and the machine's busy CPU µs per request.
 * Root, real kernel, nginx and wrk installed; run alone:
 *   flock /tmp/sextant-kernel.lock npx tsx scripts/bench-l7-wrk.ts [seconds]
 * BENCH_CLOSE=1: a new connection per request (wrk sends `Connection: close`); mode `l4` opens the probes with L7 off
 * (the connection-level programs only), so BENCH_MODES=l4,hooks,signals shows what L7 adds per connection.
 *
 * BENCH_SLOW_EDGE=1: wrk's edge has its own slow threshold, as the collector gives a busy edge (sx_l7_slow looked up).
 * BENCH_BUDGET=n[,m…]: the sampled successes recorded per second (setL7Config budgetPerSec; the collector's default
 * 500); several: the signals mode runs once per budget in each round, side by side.
 *
 * BENCH_PAIRED=1: the objects of BENCH_OBJECTS (two or more, e.g. HEAD's and a variant compiled into /tmp) are loaded
 * at once, each SextantProbes attached to the same hooks, in the first mode of BENCH_MODES (default signals), and one
 * wrk run per round (BENCH_ROUNDS, default 6) measures them all: per object the ns per request of its programs
 * (run_time_ns / wrk's requests). The attach order (= the order the programs run on a hook; the first takes the
 * cold cache lines of the kernel structures they share) is rotated every round. Prints a line per round and each
 * object's median, and its difference from the first object's (median, range, rounds lower; and the median over whole
 * rotations, each object once in every position). Rounds run one after another differ by more than the objects do;
 * only the pairs within a round are compared. The first object on a hook runs ~+400 ns per request above the next (the
 * shared kernel lines); BENCH_WARM=<object> loads that one first in every round, unreported, to take it, so the others
 * differ by their own work only (which hides a saving of shared kernel lines: compare such a cut without it, by
 * whole rotations). The object right after another finds that one's lines warm, and a cyclic rotation of three or more
 * keeps most pairs in one order: compare two objects at a time.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SextantProbes, type L7Mode } from '../src/probes';
import { allProgs, STATS_SYSCTL } from './bench-http';

const SECONDS = Number(process.argv[2] ?? 5);
const MODES = (process.env.BENCH_MODES ?? (process.env.BENCH_PAIRED === '1' ? 'signals' : 'hooks,signals')).split(',') as (L7Mode | 'l4')[];
const CLOSE = process.env.BENCH_CLOSE === '1';
const OBJECTS: (string | undefined)[] = (process.env.BENCH_OBJECTS ?? '').split(',').filter(Boolean);
if (OBJECTS.length === 0) OBJECTS.push(undefined);
const PAIRED = process.env.BENCH_PAIRED === '1';
const WARM = process.env.BENCH_WARM;
/** BENCH_SLOW_EDGE=1: wrk's edge given its own slow threshold (sx_l7_slow), as the collector gives a busy edge. */
const SLOW_EDGE = process.env.BENCH_SLOW_EDGE === '1';
/** BENCH_BUDGET: the record budgets for sampled successes per second (the collector's default, 500, unless set); a
 * comma-separated list runs the signals mode once per budget in each round (the first one only in paired mode). */
const BUDGETS = (process.env.BENCH_BUDGET ?? '500').split(',').map(Number);
const BUDGET = BUDGETS[0]!;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? (PAIRED ? 6 : 1)));
if (PAIRED && OBJECTS.some((o) => o === undefined)) throw new Error('BENCH_PAIRED=1 needs BENCH_OBJECTS');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-l7-wrk-'));
const port = 19080 + Math.floor(Math.random() * 900);
fs.writeFileSync(
  path.join(tmp, 'nginx.conf'),
  `worker_processes 1; daemon off; pid ${tmp}/nginx.pid; error_log ${tmp}/error.log warn;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi; uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } } }`,
);
const nginx = spawn('nginx', ['-c', path.join(tmp, 'nginx.conf'), '-p', tmp], { stdio: 'inherit' });
await new Promise((r) => setTimeout(r, 500));

const busySeconds = (): number => {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
};
const runWrk = async (seconds: number) => {
  const busy0 = busySeconds();
  const out = (
    await promisify(execFile)('wrk', [
      '-t1',
      '-c32',
      `-d${seconds}s`,
      ...(CLOSE ? ['-H', 'Connection: close'] : []),
      `http://127.0.0.1:${port}/`,
    ])
  ).stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { requests, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), cpuUs: ((busySeconds() - busy0) / requests) * 1e6 };
};

const openProbes = (mode: L7Mode | 'l4', objectPath: string | undefined): SextantProbes => {
  const p = SextantProbes.open({
    l7: mode !== 'l4',
    l7Mode: mode === 'l4' ? undefined : mode,
    cgroupRoot: null,
    updateIntervalMs: 0,
    objectPath,
  });
  // as the collector does once an edge has its own latency (its recent p99): wrk's edge with a slow threshold
  if (SLOW_EDGE && mode !== 'l4' && mode !== 'hooks')
    p.setL7SlowEdges([{ role: 'client', family: 4, addr: '127.0.0.1', port, thresholdNs: 20_000_000n }]);
  return p;
};

/** The ids of the programs that `open` loads. */
const newProgs = <T>(open: () => T): { value: T; ids: Set<number> } => {
  const before = new Set(allProgs().map((p) => p.id));
  const value = open();
  return {
    value,
    ids: new Set(
      allProgs()
        .map((p) => p.id)
        .filter((id) => !before.has(id)),
    ),
  };
};

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** BENCH_PAIRED=1: every object at once, one wrk run per round, the attach order rotated. */
const runPaired = async (): Promise<void> => {
  const mode = MODES[0]!;
  const objects = OBJECTS as string[];
  const perObject = new Map<string, number[]>(objects.map((o) => [o, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = objects.map((_, i) => objects[(i + round) % objects.length]!);
    const opened: { objectPath: string; probes: SextantProbes; ids: Set<number> }[] = [];
    try {
      for (const objectPath of WARM ? [WARM, ...order] : order) {
        const { value: probes, ids } = newProgs(() => openProbes(mode, objectPath));
        opened.push({ objectPath, probes, ids });
        probes.onTcpEvents(() => undefined);
        probes.onL7Events(() => undefined);
        probes.setL7Config({ slowNs: 250_000_000, recordAllUntilNs: 0, budgetPerSec: BUDGET });
      }
      const w = await runWrk(SECONDS);
      const progs = allProgs();
      const parts = opened.slice(WARM ? 1 : 0).map(({ objectPath, ids }) => {
        let total = 0;
        const top: string[] = [];
        for (const p of progs.filter((q) => ids.has(q.id) && (q.run_cnt ?? 0) > 0)) {
          total += p.run_time_ns ?? 0;
          const perReq = Math.round((p.run_time_ns ?? 0) / w.requests);
          if (perReq >= 20) top.push(`${p.name}=${perReq}`);
        }
        perObject.get(objectPath)!.push(total / w.requests);
        return `${path.basename(objectPath)} ${Math.round(total / w.requests)} (${top.join(' ')})`;
      });
      console.log(`round ${round + 1}/${ROUNDS}, ${w.requests} requests: ${parts.join(' | ')}`);
    } finally {
      for (const o of opened) o.probes.close();
    }
  }
  const base = perObject.get(objects[0]!)!;
  for (const objectPath of objects) {
    const a = perObject.get(objectPath)!;
    const d = a.map((v, i) => v - base[i]!);
    const n = objects.length;
    const rotations = Array.from({ length: Math.floor(d.length / n) }, (_, r) => d.slice(r * n, r * n + n).reduce((x, y) => x + y) / n);
    const vs =
      objectPath === objects[0]
        ? ''
        : `, vs ${path.basename(objects[0]!)}: median ${Math.round(median(d))} ns (${Math.round(Math.min(...d))}..${Math.round(
            Math.max(...d),
          )}), lower in ${d.filter((x) => x < 0).length} of ${d.length} rounds; by rotation ${Math.round(median(rotations))} [${rotations
            .map(Math.round)
            .join(', ')}]`;
    console.log(`${path.basename(objectPath)}: median ${Math.round(median(a))} ns/request [${a.map(Math.round).join(', ')}]${vs}`);
  }
};

const statsBefore = fs.readFileSync(STATS_SYSCTL, 'utf8').trim();
fs.writeFileSync(STATS_SYSCTL, '1');
await runWrk(1); // warm up
const rows: Record<string, string | number>[] = [];
const progRows: Record<string, string | number>[] = [];
try {
  if (PAIRED) await runPaired();
  else
    for (let round = 0; round < ROUNDS; round++)
      for (const mode of MODES)
        for (const [objectPath, budget] of OBJECTS.flatMap((o) => (mode === 'signals' ? BUDGETS : [BUDGET]).map((b) => [o, b] as const))) {
          const label = mode === 'signals' && BUDGETS.length > 1 ? `${mode}, budget ${budget}` : mode;
          const name = objectPath ? `${label} @ ${path.basename(objectPath)}` : label;
          let probes: SextantProbes, ids: Set<number>;
          try {
            ({ value: probes, ids } = newProgs(() => openProbes(mode, objectPath)));
          } catch (e) {
            rows.push({ case: name, 'req/s': `failed to open: ${(e as Error).message}` });
            continue;
          }
          probes.onTcpEvents(() => undefined);
          let records = 0;
          probes.onL7Events((batch) => (records += batch.length));
          probes.setL7Config({ slowNs: 250_000_000, recordAllUntilNs: 0, budgetPerSec: budget });
          const w = await runWrk(SECONDS);
          let total = 0;
          for (const p of allProgs().filter((q) => ids.has(q.id) && (q.run_cnt ?? 0) > 0)) {
            total += p.run_time_ns ?? 0;
            const row = {
              case: name,
              program: p.name,
              'runs/req': +((p.run_cnt ?? 0) / w.requests).toFixed(2),
              'ns/run': Math.round((p.run_time_ns ?? 0) / (p.run_cnt ?? 1)),
              'ns/req': Math.round((p.run_time_ns ?? 0) / w.requests),
            };
            if (row['ns/req'] >= 5) progRows.push(row);
          }
          progRows.push({ case: name, program: '(all)', 'ns/req': Math.round(total / w.requests) });
          const counters = probes.readCounters();
          probes.close();
          rows.push({
            case: name,
            'req/s': Math.round(w.rps),
            'machine µs/req': +w.cpuUs.toFixed(2),
            'kernel ns/req': Math.round(total / w.requests),
            'records/req': +(records / w.requests).toFixed(4),
            'aggregated/req': +(counters.l7Aggregated / w.requests).toFixed(3),
          });
        }
} finally {
  fs.writeFileSync(STATS_SYSCTL, statsBefore || '0');
  nginx.kill('SIGQUIT');
}
if (!PAIRED) {
  console.table(progRows);
  console.table(rows);
}
