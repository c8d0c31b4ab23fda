import { encodeFlowColumns, FLOW_FIELDS, FLOW_IX } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { recordId } from './record-ids';
import { JsonWriter } from './json-writer';

/** What the writer wrote, as text. */
function written(write: (w: JsonWriter) => void): string {
  const w = new JsonWriter();
  w.reset();
  write(w);
  return w.bytes().toString('utf8');
}

const ODD_STRINGS = [
  'plain',
  'quote " only',
  'back \\ slash only',
  'tab\tnewline\n',
  'ümlaut',
  '日本',
  'emoji 🚀',
  'lone \ud800 surrogate',
  '',
  '\u007f',
];
const ODD_NUMBERS = [0, 1, 9, 10, 99, 100, 2147483647, 2147483648, 2 ** 53 - 1, -1, -0, 0.5, 1e21, 1.5e-7, NaN, Infinity];

/** `n` rows (FLOW_FIELDS order) whose every field takes `value(i, k)`. */
function rowsOf(n: number, value: (i: number, k: number) => unknown): unknown[][] {
  return Array.from({ length: n }, (_, i) => FLOW_FIELDS.map((_, k) => value(i, k)));
}

describe('JsonWriter', () => {
  it('writes any value and array as JSON.stringify does', () => {
    const values: unknown[] = [...ODD_STRINGS, ...ODD_NUMBERS, null, undefined, true, false, { a: [1, 'x'] }];
    for (const v of values) expect(written((w) => w.json(v))).toBe(JSON.stringify(v) ?? 'null');
    // (arrays written a ~64 KB slice at a time: many slices, items of every kind)
    const items = Array.from({ length: 5_000 }, (_, i) => ({ s: ODD_STRINGS[i % ODD_STRINGS.length], n: i, id: recordId() }));
    expect(written((w) => w.array(items))).toBe(JSON.stringify(items));
    expect(written((w) => w.array([]))).toBe('[]');
  });

  it("writes flow rows as exactly the JSON of encodeFlowColumns' columns, whatever the values and the batch size", () => {
    const t0 = Date.now();
    const cases: unknown[][][] = [
      rowsOf(1, (i, k) => (k === FLOW_IX.id ? recordId() : k === FLOW_IX.time ? t0 + 0.1234 : k)),
      // one id for all rows (a value, not the fixed-width text), ids of other lengths (an array)
      rowsOf(3, (i, k) => (k === FLOW_IX.id ? 'same-id-for-all-00000000000000000000' : i)),
      rowsOf(3, (i, k) => (k === FLOW_IX.id ? `id-${i}` : i)),
      // every odd value in every column, times before the first row's (negative offsets), nulls and undefined
      rowsOf(40, (i, k) => {
        if (k === FLOW_IX.id) return recordId();
        if (k === FLOW_IX.time || k === FLOW_IX.endTime) return i % 5 === 4 ? null : t0 - i * 0.0371 + 0.0005;
        const all = [...ODD_STRINGS, ...ODD_NUMBERS, null, undefined, true, false];
        return all[(i * 7 + k) % all.length];
      }),
      // more rows than a chunk of values (4,096), columns constant and varying
      rowsOf(9_000, (i, k) =>
        k === FLOW_IX.id ? recordId() : k === FLOW_IX.time ? t0 + i * 0.013 : k % 3 === 0 ? 'x' : k % 3 === 1 ? i % 70_000 : i % 2 === 0,
      ),
    ];
    for (const rows of cases) expect(written((w) => w.flowColumns(rows))).toBe(JSON.stringify(encodeFlowColumns(rows)));
    // one writer for every batch, in both orders (its array of a column's values is reused: longer, then shorter)
    const w = new JsonWriter();
    for (const rows of [...cases, ...cases.slice().reverse()]) {
      w.reset();
      w.flowColumns(rows);
      expect(w.bytes().toString('utf8')).toBe(JSON.stringify(encodeFlowColumns(rows)));
    }
  });

  it('is reused batch after batch: each body only what was written since reset', () => {
    const w = new JsonWriter();
    w.reset();
    w.array(Array.from({ length: 100_000 }, (_, i) => i)); // (past its first buffer: it grows)
    const first = w.bytes();
    w.reset();
    w.json('second');
    expect(w.bytes().toString()).toBe('"second"');
    expect(first.toString()).toBe(JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i)));
  });
});
