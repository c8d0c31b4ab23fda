/**
 * Which ingest failures are the input's fault (the API answers 400, a collector keeps the batch aside and
 * moves on) and which are the server's (5xx: the collector spools and retries). PostgreSQL's own message
 * names values and constraints; it is logged by the server, never sent to a client.
 */

/** A batch that can never be stored as it is (the API answers BAD_REQUEST with this message). */
export class IngestInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IngestInputError';
  }
}

// SQLSTATE of an integrity violation that only the input can cause: NOT NULL, CHECK (23503 foreign keys
// and 23505 unique keys are ours: a revoked collector, a race; retrying or another answer fixes them).
const INPUT_INTEGRITY = new Set(['23502', '23514']);

/** A short, value-free description of a PostgreSQL data error (class 22, or an input integrity violation), or null. */
export function pgInputError(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return null;
  if (code.startsWith('22')) {
    const what: Record<string, string> = {
      '22001': 'a value is too long for its column',
      '22003': 'a number is out of range for its column',
      '22007': 'an invalid date or time',
      '22008': 'a date or time out of range',
      '22021': 'a character not valid in UTF-8',
      '22P02': 'a value of the wrong type',
      '22P05': 'a character PostgreSQL cannot store',
    };
    return `the database refused a value: ${what[code] ?? 'invalid data'} (SQLSTATE ${code})`;
  }
  if (INPUT_INTEGRITY.has(code)) return `the database refused a record: a required value is missing or invalid (SQLSTATE ${code})`;
  return null;
}
