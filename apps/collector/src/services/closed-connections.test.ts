import { describe, expect, it } from 'vitest';
import { recordId } from './record-ids';
import { ClosedConnections } from './closed-connections';

const A = 0xffff888100000100n;
const B = 0xffff888100000140n; // 64 bytes further: a different socket

describe('ClosedConnections', () => {
  it('finds the connection of a socket address whose [start, end] holds the data, of several that reused it', () => {
    const c = new ClosedConnections(16);
    c.add(A, 1_000, 2_000, 'a1');
    c.add(B, 1_500, 2_500, 'b1');
    c.add(A, 3_000, 4_000, 'a2');
    c.add(A, 0, 6_000, 'a3'); // start not known: only its end bounds it
    expect(c.find(A, 1_500)).toBe('a1');
    expect(c.find(A, 3_500)).toBe('a2');
    expect(c.find(A, 4_500)).toBe('a3');
    expect(c.find(B, 2_000)).toBe('b1');
    expect(c.find(B, 2_600)).toBeUndefined(); // after B's close: a later connection, not closed yet
    expect(c.find(A, 7_000)).toBeUndefined();
    expect(c.find(A, 500)).toBe('a3'); // before a1 started: only the one whose start is not known can hold it
  });

  it('forgets the oldest closes past its capacity', () => {
    const c = new ClosedConnections(4);
    for (let i = 0; i < 6; i++) c.add(A + BigInt(i) * 64n, i * 1_000, i * 1_000 + 500, `c${i}`);
    expect(c.size).toBe(4);
    expect(c.find(A, 200)).toBeUndefined();
    expect(c.find(A + 64n, 1_200)).toBeUndefined();
    expect(c.find(A + 128n, 2_200)).toBe('c2');
    expect(c.find(A + 320n, 5_200)).toBe('c5');
  });

  it('finds a close read slightly out of order (after a later one)', () => {
    const c = new ClosedConnections(8);
    c.add(A, 1e9, 2e9, 'early');
    c.add(B, 1e9, 3e9, 'b');
    c.add(A, 2.5e9, 2.99e9, 'out-of-order'); // ended before B's close but read after it
    expect(c.find(A, 2.9e9)).toBe('out-of-order');
    expect(c.find(A, 1.5e9)).toBe('early');
  });

  it('gives back the flow ids it was given, UUIDs included, and refuses one it cannot hold', () => {
    const c = new ClosedConnections(4);
    const ids = [recordId(), recordId(), 'short'];
    ids.forEach((id, i) => c.add(A + BigInt(i) * 64n, i * 1_000, i * 1_000 + 500, id));
    ids.forEach((id, i) => expect(c.find(A + BigInt(i) * 64n, i * 1_000 + 100)).toBe(id));
    // a slot written again with a shorter id reads back only that id
    for (let i = 0; i < 4; i++) c.add(B, 10_000 + i, 10_000 + i, `n${i}`);
    expect(c.find(B, 10_001)).toBe('n1'); // (its slot held a UUID before)
    expect(c.find(B, 10_003)).toBe('n3');
    expect(() => c.add(A, 1, 2, 'x'.repeat(37))).toThrow(RangeError);
  });

  it('grows as closes are written and finds every one it holds, before and after it is full', () => {
    const capacity = 16_384; // it starts with room for 4,096
    const c = new ClosedConnections(capacity);
    // 20,000 closes of 2,500 socket addresses reused in turn: each address's connections follow each other
    const sockOf = (i: number) => A + BigInt(i % 2_500) * 2_112n;
    for (let i = 0; i < 20_000; i++) {
      c.add(sockOf(i), i * 1_000 + 1, i * 1_000 + 900, `id${i}`);
      if (i === 9_999) {
        expect(c.size).toBe(10_000);
        for (let j = 0; j < 10_000; j++) expect(c.find(sockOf(j), j * 1_000 + 500)).toBe(`id${j}`);
      }
    }
    expect(c.size).toBe(capacity);
    for (let j = 20_000 - capacity; j < 20_000; j++) expect(c.find(sockOf(j), j * 1_000 + 500)).toBe(`id${j}`);
    expect(c.find(sockOf(0), 500)).toBeUndefined(); // overwritten
  });
});
