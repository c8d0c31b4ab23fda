/**
 * Text that a monitored process controls (URLs, headers, process names, DNS names...) may hold any bytes:
 * a NUL, which PostgreSQL cannot store in text or jsonb, or a lone UTF-16 surrogate, which has no UTF-8 form.
 * Either one used to fail the whole batch it travelled in, for good. Every string field of every public
 * input is parsed with `text()` here instead of `z.string()`: NUL and lone surrogates become U+FFFD (one
 * code unit for one, so length limits mean the same), and the record that held them is marked
 * (`SANITIZED_LABEL` on its source endpoint, see flow.ts) instead of being lost.
 */
import { z } from 'zod';

/** The label put on the source endpoint of a flow or L7 event whose text had bytes replaced. */
export const SANITIZED_LABEL = 'sextant:sanitized';

// Any NUL or surrogate: the common case (plain text) is one regex test; pairs are told apart after.
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const SUSPECT = /[\u0000\uD800-\uDFFF]/;
// NUL, a high surrogate not followed by a low one, a low one not preceded by a high one (code units: no u flag).
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const POISON = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// Strings changed by sanitizeText since the process started; `marked` compares it around one record's parse.
let replacedCount = 0;

/** `s` with NUL and unpaired surrogates replaced by U+FFFD (the same string when there are none). */
export function sanitizeText(s: string): string {
  if (!SUSPECT.test(s)) return s;
  const clean = s.replace(POISON, '\uFFFD');
  if (clean !== s) replacedCount++;
  return clean;
}

/** Whether sanitizeText would change `s`. */
export function needsSanitizing(s: string): boolean {
  return SUSPECT.test(s) && s.replace(POISON, '\uFFFD') !== s;
}

/** A string schema that sanitizes before its other checks (chain .max(), .min(), .regex() after it). */
export function text() {
  return z.string().overwrite(sanitizeText);
}

// Parsed objects (flow rows, endpoint identities, v3 L7 rows) that held replaced text, for the expansion
// of v2/v3 batches into records to mark the records built from them.
const sanitizedObjects = new WeakSet<object>();

export function isSanitized(o: unknown): boolean {
  return typeof o === 'object' && o !== null && sanitizedObjects.has(o);
}

/**
 * `schema`, and `onSanitized(output)` called when any string inside one value it parsed was replaced
 * (default: the output object is remembered, see isSanitized). Parsing is synchronous, so the counter
 * cannot move for another value between the two ends of one parse. The input type stays the schema's.
 */
export function marked<T extends z.ZodType<object>>(schema: T, onSanitized: (out: z.output<T>) => void = (o) => sanitizedObjects.add(o)) {
  let start = 0;
  return z
    .preprocess((v: z.input<T>) => {
      start = replacedCount;
      return v;
    }, schema)
    .transform((out) => {
      if (replacedCount !== start) onSanitized(out);
      return out;
    });
}

/** Endpoint labels with SANITIZED_LABEL added once (a new array: labels may be shared by many records). */
export function withSanitizedLabel(labels: readonly string[] | undefined): string[] {
  return labels?.includes(SANITIZED_LABEL) ? [...labels] : [...(labels ?? []), SANITIZED_LABEL];
}
