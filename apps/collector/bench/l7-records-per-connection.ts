/**
 * What the kernel sends up the L7 ring per connection on the `close` workload of bench:collector (wrk, a new
 * connection per request, to nginx on loopback), signals mode with the default budget (500 sampled records a
 * second): the probes opened in this process (no collector), wrk run for BENCH_SECONDS (default 3), then the L7
 * records counted by protocol, role, kept reason and direction, against wrk's requests and the kernel's counters.
 * `flock /tmp/sextant-kernel.lock npx tsx apps/collector/bench/l7-records-per-connection.ts`
 */
import { SextantProbes } from '@sextant/bpf';
import { requireTools, startRig, wrk } from './harness';

requireTools('l7-records-per-connection');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const rig = await startRig();
const probes = SextantProbes.open({
  selfPid: process.pid,
  cgroupRoot: null,
  updateIntervalMs: 1000,
  l7: true,
  l7Mode: 'signals',
  tls: false,
});
probes.setL7Config({ slowNs: 500_000_000n, budgetPerSec: 500, recordAllUntilNs: 0n });
const kinds = new Map<string, number>();
const sockets = new Set<bigint>();
let records = 0;
let closes = 0;
probes.onL7Events((batch) => {
  for (const e of batch) {
    records++;
    sockets.add(e.sockIno);
    const k = `protocol ${e.protocol} role ${e.role} kept ${e.kept} direction ${e.direction}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
});
probes.onTcpEvents((batch) => {
  for (const e of batch) if (e.final) closes++;
});
const r = await wrk(rig, { seconds: SECONDS, connections: 32, close: true });
await new Promise((res) => setTimeout(res, 1_500));
const c = probes.readCounters();
console.log(
  `wrk ${r.requests} requests (${r.rps.toFixed(0)}/s); ${closes} TCP closes; ${records} L7 records from ${sockets.size} sockets ` +
    `(${(records / r.requests).toFixed(3)} per connection); kernel: aggregated ${c.l7Aggregated}, kept sampled ${c.l7KeptSampled}, ` +
    `error ${c.l7KeptError}, slow ${c.l7KeptSlow}, full switches ${c.l7FullSwitches}, L7 events ${c.l7Events}`,
);
for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${n} ${k}`);
probes.close();
rig.close();
process.exit(0);
