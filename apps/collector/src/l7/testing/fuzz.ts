/**
 * Fuzzing for the L7 engine, shared by the test suite and `npm run fuzz:l7`: seed captures (handcrafted and
 * recorded from real clients) are mutated — bytes flipped, digits changed, chunks split, merged, dropped,
 * duplicated, truncated into gaps, directions swapped — or replaced by random bytes behind a plausible
 * prefix, and pushed through one engine. Invariants: nothing throws, no internal error is caught, every
 * byte is accounted parsed or unparsed, memory stays bounded. Test and bench use only.
 */
import { mulberry32 } from '@sextant/shared';
import { L7Engine } from '../engine';
import type { L7Chunk, L7Exchange } from '../types';
import type { TeeEvent } from './tcp-tee';

export type SeedChunk = Omit<L7Chunk, 'connId'>;
export type Capture = SeedChunk[];

export interface FuzzResult {
  inputs: number;
  chunks: number;
  bytes: number;
  exchanges: number;
  ms: number;
  peakHeapBytes: number;
}

const INTERESTING = [0, 0xff, 0x7f, 0x80, 13, 10, 32, 58, 59, 48, 57, 102, 70, 45];

/** Groups a tee recording into one capture per connection (closes are implied by the end). */
export function capturesFromTee(events: TeeEvent[]): Capture[] {
  const by = new Map<bigint, Capture>();
  for (const e of events) {
    if (e.kind !== 'chunk') continue;
    const { connId, ...rest } = e.chunk;
    let c = by.get(connId);
    if (!c) by.set(connId, (c = []));
    c.push(rest);
  }
  return [...by.values()];
}

export function seedChunk(direction: 'egress' | 'ingress', data: Buffer | string, t: number, transport: 'tcp' | 'udp' = 'tcp'): SeedChunk {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return { transport, direction, timestampNs: BigInt(t) * 1000n, data: buf, totalLength: buf.length };
}

export function mutate(seed: Capture, rand: () => number): Capture {
  const pick = (n: number) => Math.floor(rand() * n);
  const out = seed.map((c) => ({ ...c }));
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    const i = pick(out.length);
    const c = out[i]!;
    switch (pick(10)) {
      case 0: // byte flip
      case 1: {
        if (c.data.length === 0) break;
        const d = Buffer.from(c.data);
        const n = 1 + pick(3);
        for (let k = 0; k < n; k++) d[pick(d.length)] = rand() < 0.5 ? INTERESTING[pick(INTERESTING.length)]! : pick(256);
        out[i] = { ...c, data: d, totalLength: Math.max(c.totalLength, d.length) };
        break;
      }
      case 2: {
        // a digit changed: lengths, sizes, ids
        const d = Buffer.from(c.data);
        for (let k = 0, p = pick(d.length + 1); k < d.length; k++, p = (p + 1) % d.length) {
          if (d[p]! >= 48 && d[p]! <= 57) {
            d[p] = 48 + pick(10);
            break;
          }
        }
        out[i] = { ...c, data: d };
        break;
      }
      case 3: {
        // capture truncated: the rest becomes a gap
        const keep = pick(c.data.length + 1);
        out[i] = { ...c, data: c.data.subarray(0, keep), totalLength: c.totalLength };
        break;
      }
      case 4: // a larger gap than the data had
        out[i] = { ...c, totalLength: c.totalLength + pick(rand() < 0.5 ? 16 : 100_000) };
        break;
      case 5: {
        // split
        const at = pick(c.data.length + 1);
        const a = { ...c, data: c.data.subarray(0, at), totalLength: at };
        const b = { ...c, data: c.data.subarray(at), totalLength: c.totalLength - at, timestampNs: c.timestampNs + 1n };
        out.splice(i, 1, a, b);
        break;
      }
      case 6: {
        // merge with the next one
        const n = out[i + 1];
        if (!n) break;
        out.splice(i, 2, { ...c, data: Buffer.concat([c.data, n.data]), totalLength: c.data.length + n.totalLength });
        break;
      }
      case 7:
        if (rand() < 0.5) out.splice(i, 1);
        else out.splice(i, 0, { ...c });
        break;
      case 8:
        out[i] = { ...c, direction: c.direction === 'egress' ? 'ingress' : 'egress' };
        break;
      default: {
        // random bytes inserted
        const junk = Buffer.alloc(1 + pick(64));
        for (let k = 0; k < junk.length; k++) junk[k] = pick(256);
        out.splice(i, 0, { ...c, data: junk, totalLength: junk.length });
      }
    }
  }
  return out;
}

/** Random bytes behind the first few bytes of a seed, so that detection passes and the parsers see them. */
export function randomCapture(seed: Capture, rand: () => number): Capture {
  const pick = (n: number) => Math.floor(rand() * n);
  const first = seed[0];
  if (!first) return [];
  const out: Capture = [];
  const chunks = 1 + pick(5);
  for (let k = 0; k < chunks; k++) {
    const prefix = k === 0 ? first.data.subarray(0, pick(Math.min(first.data.length, 24) + 1)) : Buffer.alloc(0);
    const junk = Buffer.alloc(pick(300));
    for (let j = 0; j < junk.length; j++) junk[j] = rand() < 0.3 ? INTERESTING[pick(INTERESTING.length)]! : pick(256);
    const data = Buffer.concat([prefix, junk]);
    const direction = k === 0 ? first.direction : rand() < 0.5 ? 'egress' : 'ingress';
    out.push({
      transport: first.transport,
      direction,
      timestampNs: BigInt(k),
      data,
      totalLength: data.length + (rand() < 0.2 ? pick(5000) : 0),
    });
  }
  return out;
}

/**
 * Pushes `n` fuzzed captures (one connection each) through one engine. Throws only when an invariant
 * breaks — which is the point. `check` sees every exchange (e.g. schema validation on a sample).
 */
export function fuzzEngine(seeds: Capture[], n: number, seed: number, check?: (e: L7Exchange, i: number) => void): FuzzResult {
  const rand = mulberry32(seed);
  const engine = new L7Engine({ maxConnections: 512, maxPendingPerConnection: 64, maxBufferBytes: 16 * 1024 });
  let chunks = 0;
  let bytes = 0;
  let exchanges = 0;
  let peakHeapBytes = 0;
  const started = performance.now();
  const take = (out: L7Exchange[]) => {
    for (const e of out) {
      check?.(e, exchanges);
      exchanges++;
    }
  };
  const open = new Set<bigint>();
  for (let i = 0; i < n; i++) {
    const base = seeds[i % seeds.length]!;
    const capture = rand() < 0.15 ? randomCapture(base, rand) : mutate(base, rand);
    const connId = BigInt(i + 1);
    for (const c of capture) {
      chunks++;
      bytes += Math.max(c.totalLength, c.data.length);
      take(engine.push({ ...c, connId }));
    }
    // Most connections are closed; the others stay until the LRU evicts them.
    if (rand() < 0.8) take(engine.closeConnection(connId));
    else open.add(connId);
    if ((i & 4095) === 0) peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
  }
  const tracked = engine.stats().connections;
  if (tracked > 512) throw new Error(`${tracked} connections tracked, limit 512`);
  for (const id of open) take(engine.closeConnection(id)); // evicted ones are already flushed
  const s = engine.stats();
  if (s.internalErrors > 0) throw new Error(`${s.internalErrors} internal errors caught by the engine`);
  if (s.connections !== 0) throw new Error(`${s.connections} connections left after closing all`);
  if (s.parsedBytes + s.unparsedBytes !== bytes)
    throw new Error(`byte accounting off: ${bytes} pushed, ${s.parsedBytes} parsed, ${s.unparsedBytes} unparsed`);
  peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
  return { inputs: n, chunks, bytes, exchanges, ms: performance.now() - started, peakHeapBytes };
}
