/**
 * The collector's JS work per closed connection, without a kernel: ring batches of TCP close records as the close
 * workload makes them (both ends of each loopback connection: wrk's client socket and nginx's server socket, in the
 * generated sx_tcp_event layout), read (readTcpEvent), turned into flow rows (FlowAssembler.tcpRows), held until a
 * batch of 2,000 rows is full as the shipper holds them, and serialized (prepareBatch). Garbage collection included:
 * CPU time of the whole loop per connection, BENCH_CONNECTIONS (default 200,000) connections in ring batches of
 * BENCH_RING (default 512) records, BENCH_ROUNDS (default 5) rounds; prints each round and the minimum.
 * BENCH_L7=0: as the collector runs with L7 off (no table of the last closes for late L7 data; with L7 on, each final
 * close is also offered to the L7 assembler, as collector.ts does). Also printed: the GC
 * pauses by kind (scavenges of the young generation, mark-compact of the old one).
 * `npx tsx apps/collector/bench/close-path.bench.ts`
 */
import { SX_CLOSE_CLOSED, SX_DIR_CLIENT, SX_DIR_SERVER, SX_TCP_EVENT_LAYOUT, SX_TCP_EVENT_SIZE } from '@sextant/bpf';
import { printHeapSampling, startHeapSampling } from './heap-sampling';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { PendingFlowRow } from '@sextant/shared';
import { readTcpEvent } from '../../../packages/bpf/src/tcp-events';
import { Clock, FlowAssembler } from '../src/services/flow-assembler';
import { IdentityResolver } from '../src/services/identity';
import { L7Assembler } from '../src/services/l7-assembler';
import { ListenerTable } from '../src/services/listeners';
import { prepareBatch } from '../src/services/prepared-batch';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 200_000);
const RING = Number(process.env.BENCH_RING ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH_ROWS = 2_000;
const L = SX_TCP_EVENT_LAYOUT;
const off = (f: string) => L[f]!.offset;
const REC = 4 + SX_TCP_EVENT_SIZE + ((8 - (SX_TCP_EVENT_SIZE % 8)) % 8);

/** One ring batch: `RING` records, connection c's client end then its server end. */
function ringBatch(firstConn: number, t0: number): Buffer {
  const buf = Buffer.alloc(RING * REC);
  for (let r = 0; r < RING; r++) {
    const c = firstConn + (r >> 1);
    const server = (r & 1) === 1;
    const at = r * REC + 4;
    buf.writeUInt32LE(SX_TCP_EVENT_SIZE, r * REC);
    const start = t0 + c * 50_000;
    // socket addresses as the kernel's: kernel pointers, reused (a few thousand sockets in turn)
    buf.writeBigUInt64LE(0xffff888100000000n + BigInt(((c % 4096) * 2 + (server ? 1 : 0)) * 4096), at + off('sock_id'));
    buf.writeBigUInt64LE(BigInt(start), at + off('start_ns'));
    buf.writeBigUInt64LE(BigInt(start + 120_000), at + off('end_ns'));
    buf.writeBigUInt64LE(server ? 0n : 48_000n, at + off('connect_ns'));
    buf.writeBigUInt64LE(server ? 812n : 9001n, at + off('cgroup_id'));
    buf.writeBigUInt64LE(server ? 160n : 81n, at + off('bytes_acked'));
    buf.writeBigUInt64LE(server ? 81n : 160n, at + off('bytes_received'));
    buf.writeUInt32LE(server ? 77 : process.pid, at + off('pid'));
    buf.writeUInt32LE(6, at + off('segs_out'));
    buf.writeUInt32LE(5, at + off('segs_in'));
    buf.writeUInt32LE(40 + (c % 7), at + off('srtt_us'));
    const eph = 30_000 + (c % 30_000);
    buf.writeUInt16LE(server ? 18_080 : eph, at + off('sport'));
    buf.writeUInt16LE(server ? eph : 18_080, at + off('dport'));
    buf.writeUInt16LE(15, at + off('tcp_flags'));
    buf[at + off('kind')] = 1;
    buf[at + off('family')] = 4;
    buf[at + off('direction')] = server ? SX_DIR_SERVER : SX_DIR_CLIENT;
    buf[at + off('close_reason')] = SX_CLOSE_CLOSED;
    buf[at + off('final')] = 1;
    buf[at + off('l7_proto')] = server ? 0 : 1;
    buf.write(
      '127.0.0.1'
        .split('.')
        .map((x) => String.fromCharCode(Number(x)))
        .join(''),
      at + off('saddr'),
      'latin1',
    );
    buf.write(
      '127.0.0.1'
        .split('.')
        .map((x) => String.fromCharCode(Number(x)))
        .join(''),
      at + off('daddr'),
      'latin1',
    );
    buf.write(server ? 'nginx' : 'wrk', at + off('comm'), 'latin1');
  }
  return buf;
}

/** As probes.ts reads a ring batch. */
function readBatch(buf: Buffer, count: number) {
  const events = [];
  let o = 0;
  for (let i = 0; i < count && o + 4 <= buf.length; i++) {
    const len = buf.readUInt32LE(o);
    if (len >= SX_TCP_EVENT_SIZE) events.push(readTcpEvent(buf, o + 4));
    o += 4 + ((len + 7) & ~7);
  }
  return events;
}

let gcMs = 0;
const gcByKind = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    // NODE_PERFORMANCE_GC_MAJOR = 4 (mark-compact); minor, incremental and weak callbacks count as minor here
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcByKind.major += e.duration;
    else gcByKind.minor += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const heap = await startHeapSampling(); // BENCH_HEAP=1: where the loop allocates

const identity = new IdentityResolver({ nodeName: 'node-a' });
const listeners = new ListenerTable();
const assembler = new FlowAssembler('node-a', identity, listeners, new Clock(), { keepClosedIds: process.env.BENCH_L7 !== '0' });
const l7 = process.env.BENCH_L7 !== '0' ? new L7Assembler(assembler, identity, 'node-a') : null;
const t0 = Number(process.hrtime.bigint());
const batches = Array.from({ length: 64 }, (_, k) => ringBatch(k * (RING >> 1), t0));
let conn = 0;
let bytes = 0;
const STAGE = process.env.BENCH_STAGE ?? 'all';
const results: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const held: PendingFlowRow[] = [];
  const cpu0 = process.cpuUsage();
  const gc0 = gcMs;
  const minor0 = gcByKind.minor;
  const major0 = gcByKind.major;
  for (let done = 0; done < CONNECTIONS; done += RING >> 1) {
    const events = readBatch(batches[conn++ & 63]!, RING);
    if (STAGE === 'read') continue;
    if (l7) for (const e of events) if (e.final) l7.connectionClosed(e);
    const rows = assembler.tcpRows(events);
    if (STAGE === 'rows') continue;
    for (const r of rows) held.push(r);
    if (held.length >= BATCH_ROWS) {
      const flowRows = held.splice(0, BATCH_ROWS);
      bytes += prepareBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: [], flowRows }, { nodeName: 'node-a' }).body.length;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setImmediate(r)); // (the GC entries of the round are delivered)
  const ns = ((cpu.user + cpu.system) * 1000) / CONNECTIONS;
  results.push(ns);
  const gc = ((gcMs - gc0) * 1e6) / CONNECTIONS;
  const per = (ms: number) => ((ms * 1e6) / CONNECTIONS).toFixed(0);
  console.log(
    `round ${round + 1}: ${ns.toFixed(0)} ns of CPU per connection (two records, two rows), of it GC pauses ${gc.toFixed(0)} ns ` +
      `(scavenges ${per(gcByKind.minor - minor0)}, mark-compact ${per(gcByKind.major - major0)})`,
  );
}
console.log(`min ${Math.min(...results).toFixed(0)} ns per connection; ${(bytes / 1e6).toFixed(1)} MB of batches`);
await printHeapSampling(heap, CONNECTIONS * ROUNDS, 'connection', 12);
