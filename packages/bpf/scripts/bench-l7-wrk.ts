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
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SextantProbes, type L7Mode } from '../src/probes';
import { allProgs, STATS_SYSCTL } from './bench-http';

const SECONDS = Number(process.argv[2] ?? 5);
const MODES = (process.env.BENCH_MODES ?? 'hooks,signals').split(',') as (L7Mode | 'l4')[];
const CLOSE = process.env.BENCH_CLOSE === '1';
const OBJECTS: (string | undefined)[] = (process.env.BENCH_OBJECTS ?? '').split(',').filter(Boolean);
if (OBJECTS.length === 0) OBJECTS.push(undefined);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));

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

const statsBefore = fs.readFileSync(STATS_SYSCTL, 'utf8').trim();
fs.writeFileSync(STATS_SYSCTL, '1');
await runWrk(1); // warm up
const rows: Record<string, string | number>[] = [];
const progRows: Record<string, string | number>[] = [];
try {
  for (let round = 0; round < ROUNDS; round++)
    for (const mode of MODES)
      for (const objectPath of OBJECTS) {
        const name = objectPath ? `${mode} @ ${path.basename(objectPath)}` : mode;
        const before = new Set(allProgs().map((p) => p.id));
        let probes: SextantProbes;
        try {
          probes = SextantProbes.open({
            l7: mode !== 'l4',
            l7Mode: mode === 'l4' ? undefined : mode,
            cgroupRoot: null,
            updateIntervalMs: 0,
            objectPath,
          });
        } catch (e) {
          rows.push({ case: name, 'req/s': `failed to open: ${(e as Error).message}` });
          continue;
        }
        probes.onTcpEvents(() => undefined);
        let records = 0;
        probes.onL7Events((batch) => (records += batch.length));
        probes.setL7Config({ slowNs: 250_000_000, recordAllUntilNs: 0, budgetPerSec: 500 });
        const w = await runWrk(SECONDS);
        let total = 0;
        for (const p of allProgs().filter((q) => !before.has(q.id) && (q.run_cnt ?? 0) > 0)) {
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
console.table(progRows);
console.table(rows);
