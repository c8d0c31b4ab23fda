/**
 * On-demand capture requests (docs/l7-line-rate.md, "On demand"): while one is open and unexpired, collectors
 * record every HTTP exchange instead of sampling successes. A live tail opens one, renews it while it runs and
 * closes it when it ends; one nobody renews lapses at its expiry (a crashed server leaves nothing running for
 * long). Times are the database's clock, so every server replica agrees on what is active.
 */
import type pg from 'pg';

/** How long a request lives after it is opened or renewed. */
export const CAPTURE_TTL_MS = 30_000;
/** How often its holder renews it: a third of the lifetime, so one late renewal does not let it lapse. */
export const CAPTURE_RENEW_MS = 10_000;
/** Closed and lapsed requests are kept this long (who captured what, recently), then deleted. */
const KEEP_ENDED_MS = 86_400_000;

export interface CaptureRequestInput {
  userId: string;
  /** Why it runs, e.g. 'live tail'. */
  reason: string;
  /** What the opener looks at (the tail's filter). Kept for the record: the kernel's capture is host-wide. */
  filter: unknown;
  ttlMs?: number;
}

export interface OpenedCapture {
  id: string;
  /** Epoch ms. */
  expiresAt: number;
}

const EPOCH_MS = (col: string) => `floor(extract(epoch FROM ${col}) * 1000)::bigint`;

function checkTtl(ttlMs: number): number {
  if (!Number.isInteger(ttlMs) || ttlMs < 100 || ttlMs > 600_000)
    throw new RangeError(`capture lifetime must be 100..600000 ms, not ${ttlMs}`);
  return ttlMs;
}

export async function openCaptureRequest(pool: pg.Pool, input: CaptureRequestInput): Promise<OpenedCapture> {
  const ttl = checkTtl(input.ttlMs ?? CAPTURE_TTL_MS);
  const id = crypto.randomUUID();
  const res = await pool.query<{ expires_at: number }>(
    `INSERT INTO capture_requests (id, user_id, reason, filter, expires_at)
     VALUES ($1, $2, $3, $4::jsonb, now() + make_interval(secs => $5 / 1000.0))
     RETURNING ${EPOCH_MS('expires_at')} AS expires_at`,
    [id, input.userId, input.reason, JSON.stringify(input.filter ?? {}), ttl],
  );
  // The table stays small: requests that ended a day ago go as new ones open.
  await pool.query(`DELETE FROM capture_requests WHERE least(closed_at, expires_at) < now() - make_interval(secs => $1 / 1000.0)`, [
    KEEP_ENDED_MS,
  ]);
  return { id, expiresAt: Number(res.rows[0]?.expires_at) };
}

/**
 * Moves the expiry to now + ttl (never earlier than it was). A closed request stays closed: the answer is
 * null, as for an unknown id, and the holder should stop renewing.
 */
export async function renewCaptureRequest(pool: pg.Pool, id: string, ttlMs = CAPTURE_TTL_MS): Promise<number | null> {
  const res = await pool.query<{ expires_at: number }>(
    `UPDATE capture_requests SET expires_at = greatest(expires_at, now() + make_interval(secs => $2 / 1000.0))
      WHERE id = $1 AND closed_at IS NULL
      RETURNING ${EPOCH_MS('expires_at')} AS expires_at`,
    [id, checkTtl(ttlMs)],
  );
  const row = res.rows[0];
  return row ? Number(row.expires_at) : null;
}

/** Ends a request now (idempotent). */
export async function closeCaptureRequest(pool: pg.Pool, id: string): Promise<void> {
  await pool.query('UPDATE capture_requests SET closed_at = now() WHERE id = $1 AND closed_at IS NULL', [id]);
}

/** The latest expiry (epoch ms) among open, unexpired requests: what collectors record everything until; else null. */
export async function captureDeadline(pool: pg.Pool): Promise<number | null> {
  const res = await pool.query<{ until: number | null }>(
    `SELECT ${EPOCH_MS('max(expires_at)')} AS until FROM capture_requests WHERE closed_at IS NULL AND expires_at > now()`,
  );
  const until = res.rows[0]?.until;
  return until === null || until === undefined ? null : Number(until);
}

export interface CaptureRequestRow {
  id: string;
  userId: string;
  reason: string;
  filter: unknown;
  createdAt: number;
  expiresAt: number;
  closedAt: number | null;
}

/** One request as stored (tests, and who-captured-what views). */
export async function captureRequest(pool: pg.Pool, id: string): Promise<CaptureRequestRow | null> {
  const res = await pool.query<{
    id: string;
    user_id: string;
    reason: string;
    filter: unknown;
    created_at: number;
    expires_at: number;
    closed_at: number | null;
  }>(
    `SELECT id, user_id, reason, filter, ${EPOCH_MS('created_at')} AS created_at, ${EPOCH_MS('expires_at')} AS expires_at,
            ${EPOCH_MS('closed_at')} AS closed_at
       FROM capture_requests WHERE id = $1`,
    [id],
  );
  const r = res.rows[0];
  if (!r) return null;
  return {
    id: r.id,
    userId: r.user_id,
    reason: r.reason,
    filter: r.filter,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    closedAt: r.closed_at === null ? null : Number(r.closed_at),
  };
}
