/**
 * What each L7 mode costs per HTTP exchange, on loopback, in this process (client and server both here, so
 * the BPF programs run in this process's syscalls and show in its system CPU time). For each of: no L7
 * programs, hooks, full, signals (budget 0 and the default 500/s): REQUESTS keep-alive GETs with CONCURRENCY
 * in flight, then req/s, CPU µs per exchange (user, system) and L7 records emitted per exchange.
 * Root, real kernel; run alone: flock /tmp/sextant-kernel.lock npx tsx scripts/bench-l7-modes.ts [requests]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SextantProbes, type L7Mode } from '../src/probes';

const REQUESTS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = 8;

interface Case {
  name: string;
  l7: boolean;
  mode?: L7Mode;
  budget?: number;
}
const CASES: Case[] = [
  { name: 'no L7 programs', l7: false },
  { name: 'hooks', l7: true, mode: 'hooks' },
  { name: 'full', l7: true, mode: 'full' },
  { name: 'signals, budget 0', l7: true, mode: 'signals', budget: 0 },
  { name: 'signals, budget 500/s', l7: true, mode: 'signals', budget: 500 },
];

const srv = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const port = (srv.address() as AddressInfo).port;

function get(agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/bench', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
  });
}

async function load(n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await get(agent);
    }),
  );
  agent.destroy();
}

await load(1_000); // warm up the JIT before the first measured case
const rows = [];
for (const c of CASES) {
  const probes = SextantProbes.open({ l7: c.l7, l7Mode: c.mode, cgroupRoot: null, updateIntervalMs: 0 });
  let records = 0;
  if (c.l7) {
    probes.onL7Events((batch) => (records += batch.length));
    probes.setL7Config({ slowNs: 250_000_000, recordAllUntilNs: 0, budgetPerSec: c.budget ?? 500 });
  }
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await load(REQUESTS);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 300)); // the last records reach JS
  const aggregated = c.l7 ? (await probes.drainL7Aggregates()).length + (await probes.drainL7Aggregates()).length : 0;
  const counters = probes.readCounters();
  probes.close();
  rows.push({
    case: c.name,
    'req/s': Math.round(REQUESTS / secs),
    'user µs/req': +(cpu.user / REQUESTS).toFixed(1),
    'sys µs/req': +(cpu.system / REQUESTS).toFixed(1),
    'records/req': +(records / REQUESTS).toFixed(3),
    'aggregated/req': +(counters.l7Aggregated / REQUESTS).toFixed(3),
    'agg keys': aggregated,
    'ring full': counters.l7RingbufFull,
  });
}
srv.close();
console.table(rows);
