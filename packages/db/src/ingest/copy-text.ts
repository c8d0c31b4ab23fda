/**
 * Encoding of values for PostgreSQL's COPY text format: tab-separated columns, \N for NULL, backslash
 * escapes for the characters that would break a row. Array literals for text[] columns.
 */

export type CopyValue = string | number | boolean | null | undefined | string[] | object;

function escapeText(s: string): string {
  // Fast path: most values have nothing to escape.
  if (!/[\\\t\n\r]/.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A text[] literal: every element double-quoted, with quotes and backslashes escaped. */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

export function copyField(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return escapeText(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`non-finite number in COPY row: ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (Array.isArray(v)) return v.length === 0 ? '\\N' : escapeText(arrayLiteral(v as string[]));
  return escapeText(JSON.stringify(v));
}

export function copyRow(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(values[i]);
  }
  return `${line}\n`;
}

/** ISO timestamp with microsecond precision (epoch milliseconds may carry a fraction). */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const us = Math.min(999, Math.round((epochMs - ms) * 1000));
  const iso = new Date(ms).toISOString(); // 2026-11-24T15:00:00.123Z
  return `${iso.slice(0, -1)}${String(us).padStart(3, '0')}Z`;
}
