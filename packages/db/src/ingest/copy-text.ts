/**
 * Encoding of values for PostgreSQL's COPY text format: tab-separated columns, \N for NULL, backslash
 * escapes for the characters that would break a row. Array literals for text[] columns.
 *
 * PostgreSQL stores no NUL in text or jsonb, nor a lone surrogate in jsonb (\u0000 and \ud800 escapes are
 * refused): one in a row fails its whole COPY and so its batch. The wire schemas already replace them
 * (packages/shared sanitize.ts); this writer replaces them again with U+FFFD so that no other path into
 * COPY can emit one either.
 */
import { sanitizeText } from '@sextant/shared';

export type CopyValue = string | number | boolean | null | undefined | string[] | object;

function escapeText(s: string): string {
  // Fast path: most values have nothing to escape. (NUL: PostgreSQL text cannot hold it; see above.)
  // eslint-disable-next-line no-control-regex
  if (!/[\\\t\n\r\u0000]/.test(s)) return s;
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\\\t\n\r\u0000]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\uFFFD',
  );
}

// A \u0000 or surrogate escape as JSON.stringify writes them (lone surrogates only: pairs are written as is).
const JSON_POISON = /\\u(?:0000|d[89a-f])/i;

/** JSON text jsonb accepts: strings are sanitized when the fast test finds an escape jsonb would refuse. */
export function jsonText(v: object): string {
  const json = JSON.stringify(v);
  // (a false alarm, e.g. an escaped backslash before "u0000", only costs the slower path)
  if (!JSON_POISON.test(json)) return json;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? sanitizeText(x) : x));
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
  return escapeText(jsonText(v));
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
