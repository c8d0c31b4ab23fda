/**
 * Flow rows as columns (batch schema 6, `flowColumns`). A collector at tens of thousands of connections a second
 * sent two rows per connection, and serializing them was the largest part of its work (docs/scaling.md): every
 * row repeats values that are the same across a batch (node, verdict, protocol, addresses on a busy pair, …) and
 * carries two epoch-millisecond times, which JSON writes as doubles, several times slower than small integers.
 * As columns, a value shared by every row of the batch is written once (the column is that value instead of an
 * array), and times are integer microseconds from the batch's `timeBase` (small integers). The server turns the
 * columns back into the rows (FLOW_FIELDS, flow-fields.ts) and checks those as it checks rows.
 *
 * `columns[k]` is FLOW_FIELDS[k]'s column: a JSON array of `rows` values; `{ width, text }`, `rows` strings of
 * `width` characters one after the other (the ids); or any other single value, which every row has. A `time` field's numbers are microseconds after `timeBase` (epoch ms, an integer; null stays null),
 * rounded the way storage rounds a time to its microsecond (packages/db copy-text.ts `isoTime`: whole milliseconds,
 * then the microseconds of the rest, at most 999), so a row stores the same timestamp sent either way.
 */
import { z } from 'zod';
import { FLOW_FIELDS, kindOf } from './flow-fields';

/** Which fields are times (sent as offsets from timeBase). */
const IS_TIME = FLOW_FIELDS.map((f) => kindOf(f) === 'time');

/** The columns of a batch's flow rows, as sent. */
export interface FlowColumns {
  rows: number;
  /** Epoch ms (whole) the `time` fields count microseconds from (the first row's, floored). */
  timeBase: number;
  columns: unknown[];
}

/** An epoch-ms time as whole microseconds after `timeBase` (storage's rounding: see above); not a number: as it is. */
export function flowTimeOffset(v: unknown, timeBase: number): unknown {
  if (typeof v !== 'number') return v;
  const ms = Math.floor(v);
  return (ms - timeBase) * 1000 + Math.min(999, Math.round((v - ms) * 1000));
}

/** Microseconds after `timeBase` → epoch ms: whole ms + µs / 1000 (the double `toMicrosecond` gives). */
function timeFromOffset(v: unknown, timeBase: number): unknown {
  if (typeof v !== 'number') return v;
  const ms = Math.floor(v / 1000);
  return timeBase + ms + (v - ms * 1000) / 1000;
}

/**
 * An epoch-ms time at the microsecond a row stores (whole ms, then at most 999 µs): what a time sent as a column
 * arrives as.
 */
export function toMicrosecond(t: number): number {
  const ms = Math.floor(t);
  return ms + Math.min(999, Math.round((t - ms) * 1000)) / 1000;
}

/** The time base a batch of rows is sent with: its first row's time, floored (0 when there is none). */
export function flowTimeBase(rows: readonly (readonly unknown[])[]): number {
  const t = rows[0]?.[IS_TIME.indexOf(true)];
  return typeof t === 'number' && Number.isFinite(t) ? Math.max(0, Math.floor(t)) : 0;
}

/** A column of strings all `width` long, sent as one string (a column of ids: no quotes and commas per row). */
export interface FixedWidthColumn {
  width: number;
  text: string;
}
const ID = FLOW_FIELDS.findIndex((f) => f.name === 'id');
const UUID_LENGTH = 36;
const isFixedWidth = (c: unknown): c is FixedWidthColumn =>
  typeof c === 'object' && c !== null && !Array.isArray(c) && typeof (c as FixedWidthColumn).text === 'string';

/**
 * Column `k` of `rows`: the value every row has, or an array of each row's (times as offsets from `timeBase`). One
 * column at a time: measured, a single row-by-row pass filling all columns at once cost ~40 % more per row.
 */
function flowColumn(rows: readonly (readonly unknown[])[], k: number, timeBase: number): unknown {
  const n = rows.length;
  const time = IS_TIME[k] === true;
  const first = rows[0]![k] ?? null;
  let same = true;
  for (let i = 1; i < n && same; i++) same = (rows[i]![k] ?? null) === first;
  if (same) return time ? flowTimeOffset(first, timeBase) : first;
  const col = new Array<unknown>(n);
  if (time) for (let i = 0; i < n; i++) col[i] = flowTimeOffset(rows[i]![k] ?? null, timeBase);
  else for (let i = 0; i < n; i++) col[i] = rows[i]![k] ?? null;
  return col;
}

/**
 * Rows (FLOW_FIELDS order) → their columns: the value every row has, else an array of each row's (times as offsets
 * from `timeBase`), ids as one fixed-width string.
 */
export function encodeFlowColumns(rows: readonly (readonly unknown[])[]): FlowColumns {
  const n = rows.length;
  const timeBase = flowTimeBase(rows);
  if (n === 0) return { rows: 0, timeBase, columns: FLOW_FIELDS.map(() => null) };
  const columns = FLOW_FIELDS.map((_, k) => flowColumn(rows, k, timeBase));
  const ids = columns[ID];
  if (Array.isArray(ids) && ids.every((id) => typeof id === 'string' && id.length === UUID_LENGTH))
    columns[ID] = { width: UUID_LENGTH, text: ids.join('') } satisfies FixedWidthColumn;
  return { rows: n, timeBase, columns };
}

/**
 * The schema of `flowColumns`, giving the rows back (unchecked: the batch schema checks them as rows, so a bad value
 * is reported as `flows.<row>.<field>`, as in a batch of rows). At most `maxRows` rows; every array column has
 * exactly `rows` values.
 */
export function flowColumnsSchema(maxRows: number) {
  return z
    .object({
      rows: z.number().int().min(0).max(maxRows),
      timeBase: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      columns: z.array(z.unknown()).length(FLOW_FIELDS.length),
    })
    .superRefine((c, ctx) => {
      c.columns.forEach((col, k) => {
        const name = FLOW_FIELDS[k]!.name;
        if (Array.isArray(col) && col.length !== c.rows)
          ctx.addIssue({ code: 'custom', path: ['columns', k], message: `${name}: ${col.length} values for ${c.rows} rows` });
        if (
          isFixedWidth(col) &&
          !(Number.isInteger(col.width) && col.width > 0 && col.width <= 64 && col.text.length === col.width * c.rows)
        )
          ctx.addIssue({ code: 'custom', path: ['columns', k], message: `${name}: not ${c.rows} strings of width ${col.width}` });
      });
    })
    .transform((c) => decodeFlowColumns(c));
}

/** Columns (their shape checked) → rows. */
export function decodeFlowColumns(c: FlowColumns): unknown[][] {
  const rows = new Array<unknown[]>(c.rows);
  for (let i = 0; i < c.rows; i++) rows[i] = new Array<unknown>(FLOW_FIELDS.length);
  for (let k = 0; k < FLOW_FIELDS.length; k++) {
    const col = c.columns[k];
    const time = IS_TIME[k] === true;
    if (isFixedWidth(col)) for (let i = 0; i < c.rows; i++) rows[i]![k] = col.text.slice(i * col.width, (i + 1) * col.width);
    else if (Array.isArray(col))
      for (let i = 0; i < c.rows; i++) {
        const v: unknown = col[i];
        rows[i]![k] = time ? timeFromOffset(v, c.timeBase) : v;
      }
    else {
      const v = time ? timeFromOffset(col, c.timeBase) : col;
      for (let i = 0; i < c.rows; i++) rows[i]![k] = v;
    }
  }
  return rows;
}
