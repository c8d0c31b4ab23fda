/**
 * The collector's JS work per sampled HTTP exchange in signals mode on the new-connection-per-request workload, without
 * a kernel: each exchange on its own connection (a new socket inode, socket addresses reused), its request and
 * response records (kept = sampled) read through L7Record, pushed through L7Assembler (as the collector's L7 ring
 * callback: shedder aside), the connection's TCP close fed to connectionClosed and tcpRows as the TCP ring does.
 * CPU time per exchange over BENCH_EXCHANGES (default 50,000) in batches of BENCH_BATCH (default 16), BENCH_ROUNDS
 * (default 5) rounds; the minimum is printed. BENCH_HEAP=1: bytes allocated per exchange by function (sampled; the
 * bench's own record building included).
 * `npx tsx apps/collector/bench/l7-exchange.bench.ts`
 */
import { printHeapSampling, startHeapSampling } from './heap-sampling';
import { SX_KEPT_SAMPLED, SX_L7_EGRESS, SX_L7_INGRESS } from '@sextant/bpf';
import { Clock, FlowAssembler } from '../src/services/flow-assembler';
import { IdentityResolver } from '../src/services/identity';
import { L7Assembler } from '../src/services/l7-assembler';
import { ListenerTable } from '../src/services/listeners';
import { l7Record, tcpCloseEvent } from '../src/testing/kernel-events';

const EXCHANGES = Number(process.env.BENCH_EXCHANGES ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQ = 'GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n';
const RES =
  'HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Sun, 06 Dec 2026 23:00:00 GMT\r\nContent-Type: text/html\r\n' +
  'Content-Length: 615\r\nLast-Modified: Tue, 11 Apr 2023 01:45:34 GMT\r\nConnection: close\r\nETag: "6434bbbe-267"\r\n' +
  'Accept-Ranges: bytes\r\n\r\n' +
  '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n'.padEnd(615, ' ');

const heap = await startHeapSampling(); // BENCH_HEAP=1: where the loop allocates

const identity = new IdentityResolver({ nodeName: 'node-a' });
const flows = new FlowAssembler('node-a', identity, new ListenerTable(), new Clock(), { keepClosedIds: true });
const l7 = new L7Assembler(flows, identity, 'node-a');
const MS = 1_000_000n;
let ino = 1_000_000n;
let t = BigInt(process.hrtime.bigint());
let emitted = 0;
const results: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  let cpu = 0;
  for (let done = 0; done < EXCHANGES; done += BATCH) {
    // built outside the measured time: the ring's records
    const records = [];
    const closes = [];
    for (let i = 0; i < BATCH; i++) {
      ino++;
      t += MS;
      const sockId = 0xffff888100000000n + (ino % 4096n) * 4096n;
      const sport = 30_000 + Number(ino % 30_000n);
      const rec = (ts: bigint, direction: number, data: string) =>
        l7Record({
          sockId,
          sockIno: ino,
          tsNs: ts,
          direction,
          data,
          sport,
          dport: 18_080,
          saddr: [127, 0, 0, 1],
          daddr: [127, 0, 0, 1],
          kept: SX_KEPT_SAMPLED,
        });
      records.push(rec(t + 50_000n, SX_L7_EGRESS, REQ), rec(t + 90_000n, SX_L7_INGRESS, RES));
      closes.push(
        tcpCloseEvent({
          sockId,
          startNs: t,
          endNs: t + 120_000n,
          saddr: '127.0.0.1',
          daddr: '127.0.0.1',
          sport,
          dport: 18_080,
          l7Proto: 1,
        }),
      );
    }
    const c0 = process.cpuUsage();
    // the TCP ring is usually ahead of the L7 one: the closes first
    for (const e of closes) l7.connectionClosed(e);
    flows.tcpRows(closes);
    emitted += l7.push(records).length;
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  const ns = (cpu * 1000) / EXCHANGES;
  results.push(ns);
  console.log(`round ${round + 1}: ${(ns / 1000).toFixed(2)} µs of CPU per exchange (its close and row included)`);
}
console.log(`min ${(Math.min(...results) / 1000).toFixed(2)} µs per exchange; ${emitted} records emitted`);
await printHeapSampling(heap, EXCHANGES * ROUNDS, 'exchange', 25);
