/**
 * A batch body written as JSON bytes into one growing buffer, and a batch's flow rows written straight into it as
 * wire schema 6's columns (packages/shared wire-columns.ts) — the same bytes `JSON.stringify(encodeFlowColumns(rows))`
 * gives (tested), without a column array for the columns whose rows all hold one value, a Buffer per slice of JSON
 * and their concatenation at the end: ~450 fewer bytes allocated per closed connection on the collector's TCP path, of
 * ~3,150 (apps/collector/bench/close-path.bench.ts).
 */
import { FLOW_FIELDS, flowTimeBase, flowTimeOffset as timeOffset, kindOf } from '@sextant/shared';

const IS_TIME = FLOW_FIELDS.map((f) => kindOf(f) === 'time');
const ID = FLOW_FIELDS.findIndex((f) => f.name === 'id');
const UUID_LENGTH = 36;
const QUOTE = 0x22;
const COMMA = 0x2c;
/** Text JSON writes as it is between its quotes. */
const NO_ESCAPES = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Values of a column serialized at a time (a string of at most ~100 KB: below V8's large-object size). */
const CHUNK = 4096;

export class JsonWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  /** Items per slice of `array`, adapted so that each slice's JSON stays near TARGET_CHARS. */
  private slice = 64;
  private readonly values: unknown[] = [];
  /** A column's values, a chunk at a time (column()). */
  private readonly chunk: unknown[] = [];
  private static readonly TARGET_CHARS = 64 * 1024;

  /** Bytes written so far, copied out (the writer is reused). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }

  /** Starts a new body (a buffer grown past 16 MiB by a huge batch is let go). */
  reset(): void {
    this.at = 0;
    if (this.buf.length > 16 << 20) this.buf = Buffer.allocUnsafe(1 << 20);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.at++] = c;
  }

  /** Text as UTF-8 (already JSON). */
  text(s: string): void {
    this.room(s.length * 3);
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  /** Any value as `JSON.stringify` writes it. */
  json(v: unknown): void {
    if (typeof v === 'number') this.number(v);
    else if (typeof v === 'string') this.string(v);
    else if (v === null || v === undefined) this.text('null');
    else if (v === true) this.text('true');
    else if (v === false) this.text('false');
    else this.text(JSON.stringify(v));
  }

  number(v: number): void {
    this.text(Number.isFinite(v) ? String(v) : 'null');
  }

  /** A string as JSON: its characters as they are when nothing in it needs escaping (addresses, names of values). */
  string(s: string): void {
    if (!NO_ESCAPES.test(s)) return this.text(JSON.stringify(s));
    this.room(s.length + 2);
    this.buf[this.at++] = QUOTE;
    this.at += this.buf.write(s, this.at, 'latin1');
    this.buf[this.at++] = QUOTE;
  }

  /** An array as JSON, serialized a slice at a time (one JSON.stringify of a large array is a large-object string). */
  array(items: readonly unknown[]): void {
    if (items.length === 0) return this.text('[]');
    this.slice = 64; // (the last array's items may have been far smaller)
    for (let i = 0; i < items.length;) {
      const n = Math.min(this.slice, items.length - i);
      const json = JSON.stringify(items.slice(i, i + n));
      const start = this.at;
      this.text(json);
      if (i > 0) this.buf[start] = COMMA; // (the slice's '[' becomes the comma after the previous one)
      this.at--; // (its ']' is overwritten by what follows)
      i += n;
      this.slice = Math.max(1, Math.floor(JsonWriter.TARGET_CHARS / (json.length / n)));
    }
    this.byte(0x5d);
  }

  /** `{"rows":…,"timeBase":…,"columns":[…]}` of `rows` (FLOW_FIELDS order), as `encodeFlowColumns` gives it. */
  flowColumns(rows: readonly (readonly unknown[])[]): void {
    const n = rows.length;
    const timeBase = flowTimeBase(rows);
    this.text(`{"rows":${n},"timeBase":${timeBase},"columns":[`);
    for (let k = 0; k < FLOW_FIELDS.length; k++) {
      if (k > 0) this.byte(COMMA);
      if (n === 0) this.text('null');
      else if (k === ID && this.idText(rows)) continue;
      else this.column(rows, k, IS_TIME[k] === true, timeBase);
    }
    this.text(']}');
  }

  /** Column `k`: the value every row has, or an array of each row's. */
  private column(rows: readonly (readonly unknown[])[], k: number, time: boolean, timeBase: number): void {
    const n = rows.length;
    const first = rows[0]![k] ?? null;
    let same = true;
    for (let i = 1; i < n && same; i++) same = (rows[i]![k] ?? null) === first;
    if (same) return this.json(time ? timeOffset(first, timeBase) : first);
    // JSON.stringify of a chunk of the values (V8's own serializer: faster than writing them one by one here), in
    // one array reused for every chunk and kept packed — written by index within its length, grown by push, shrunk
    // by setting its length — which V8 serializes element by element in its fast path (an array whose length is set
    // first has holes, and each of its elements is looked up the slow way: ~30 % slower). A new array per column
    // grown by push was 15 % of the collector's allocation on `close`.
    const values = this.chunk;
    for (let c = 0; c < n; c += CHUNK) {
      const m = Math.min(CHUNK, n - c);
      if (values.length > m) values.length = m;
      const have = values.length;
      if (time) {
        for (let i = 0; i < have; i++) values[i] = timeOffset(rows[c + i]![k] ?? null, timeBase);
        for (let i = have; i < m; i++) values.push(timeOffset(rows[c + i]![k] ?? null, timeBase));
      } else {
        for (let i = 0; i < have; i++) values[i] = rows[c + i]![k] ?? null;
        for (let i = have; i < m; i++) values.push(rows[c + i]![k] ?? null);
      }
      const start = this.at;
      this.text(JSON.stringify(values));
      if (c > 0) this.buf[start] = COMMA; // (the chunk's '[' becomes the comma after the previous one)
      if (c + m < n) this.at--; // (and its ']' is overwritten by the next chunk's)
    }
  }

  /** The ids as one fixed-width string, when they differ and every one is a UUID's length (else false, nothing written). */
  private idText(rows: readonly (readonly unknown[])[]): boolean {
    const n = rows.length;
    const first = rows[0]![ID];
    let same = true;
    for (let i = 0; i < n; i++) {
      const id = rows[i]![ID];
      if (typeof id !== 'string' || id.length !== UUID_LENGTH) return false;
      if (same) same = id === first;
    }
    if (same) return false; // (one id for all rows is that value, as the column encoder writes it)
    const ids = this.values;
    ids.length = n;
    for (let i = 0; i < n; i++) ids[i] = rows[i]![ID];
    const text = ids.join('');
    this.text(`{"width":${UUID_LENGTH},"text":`);
    this.string(text);
    this.byte(0x7d);
    ids.length = 0;
    return true;
  }
}
