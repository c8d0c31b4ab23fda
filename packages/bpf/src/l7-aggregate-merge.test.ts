/**
 * Aggregates drained from a generation's slot array and its hash map are added up by key (mergeByKey): a key can be in
 * both when a slot's claim was in flight.
 */
import { describe, expect, it } from 'vitest';
import { SX_L7_AGG_KEY_SIZE, SX_L7_AGG_VALUE_LAYOUT as L, SX_L7_AGG_VALUE_SIZE } from './generated/events';
import { mergeByKey } from './l7-probes';

const key = (status: number) => {
  const k = Buffer.alloc(SX_L7_AGG_KEY_SIZE);
  k.writeUInt16LE(status, 16);
  return k;
};
const value = (count: number, first: bigint, last: bigint, bucket: number, comm: string) => {
  const v = Buffer.alloc(SX_L7_AGG_VALUE_SIZE);
  v.writeBigUInt64LE(BigInt(count), L.count!.offset);
  v.writeBigUInt64LE(BigInt(count) * 1000n, L.latency_sum_ns!.offset);
  v.writeBigUInt64LE(first, L.first_ns!.offset);
  v.writeBigUInt64LE(last, L.last_ns!.offset);
  v.writeBigUInt64LE(BigInt(count) * 10n, L.request_bytes!.offset);
  v.writeBigUInt64LE(BigInt(count) * 100n, L.response_bytes!.offset);
  v.write(comm, L.comm!.offset, 'latin1');
  v.writeBigUInt64LE(BigInt(count), L.hist!.offset + bucket * 8);
  return v;
};
const u64 = (v: Buffer, offset: number) => v.readBigUInt64LE(offset);

describe('mergeByKey', () => {
  it('adds up the entries of one key (counts, sums, buckets; first time the earliest, last the latest) and keeps other keys apart', () => {
    const slot = value(3, 500n, 900n, 7, 'curl');
    const hashed = value(2, 400n, 800n, 9, 'curl');
    const other = value(5, 100n, 200n, 7, 'wget');
    const merged = mergeByKey([
      [key(200), slot],
      [key(503), other],
      [key(200), hashed],
    ]);
    expect(merged).toHaveLength(2);
    const [k, v] = merged[0]!;
    expect(k.readUInt16LE(16)).toBe(200);
    expect(u64(v, L.count!.offset)).toBe(5n);
    expect(u64(v, L.latency_sum_ns!.offset)).toBe(5000n);
    expect(u64(v, L.request_bytes!.offset)).toBe(50n);
    expect(u64(v, L.response_bytes!.offset)).toBe(500n);
    expect(u64(v, L.first_ns!.offset)).toBe(400n);
    expect(u64(v, L.last_ns!.offset)).toBe(900n);
    expect(u64(v, L.hist!.offset + 7 * 8)).toBe(3n);
    expect(u64(v, L.hist!.offset + 9 * 8)).toBe(2n);
    expect(v.toString('latin1', L.comm!.offset, L.comm!.offset + 4)).toBe('curl');
    expect(merged[1]![1]).toBe(other); // a key seen once is passed through as it is
    expect(u64(slot, L.count!.offset)).toBe(3n); // the inputs are not changed
  });

  it('takes the earliest nonzero first time (a bytes-only entry has none)', () => {
    const merged = mergeByKey([
      [key(200), value(0, 0n, 0n, 0, 'x')],
      [key(200), value(1, 700n, 700n, 0, 'x')],
    ]);
    expect(u64(merged[0]![1], L.first_ns!.offset)).toBe(700n);
  });
});
