/** Capture requests on a real PostgreSQL: open, renew, close, lapse, and the latest deadline collectors are told. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../auth/users';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { captureDeadline, captureRequest, closeCaptureRequest, openCaptureRequest, renewCaptureRequest } from './capture-requests';

let db: TestDatabase;
let userId: string;
beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  userId = (await createUser(db.prisma, 'capture@example.com', 'correct horse battery staple', 'viewer')).id;
});
afterAll(async () => db?.close());

const dbNow = async () => Number((await db.pool.query(`SELECT floor(extract(epoch FROM now()) * 1000)::bigint AS t`)).rows[0].t);

describe('capture requests', () => {
  it('opens a request with its reason, filter and lifetime, and closes it', async () => {
    const filter = { allow: [{ destinationService: ['orders-api'] }], deny: [] };
    const before = await dbNow();
    const opened = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter, ttlMs: 30_000 });
    const row = await captureRequest(db.pool, opened.id);
    expect(row).toMatchObject({ userId, reason: 'live tail', filter, expiresAt: opened.expiresAt, closedAt: null });
    expect(opened.expiresAt - (row?.createdAt ?? 0)).toBe(30_000);
    expect(row?.createdAt).toBeGreaterThanOrEqual(before);
    expect(await captureDeadline(db.pool)).toBe(opened.expiresAt);

    await closeCaptureRequest(db.pool, opened.id);
    expect((await captureRequest(db.pool, opened.id))?.closedAt).not.toBeNull();
    expect(await captureDeadline(db.pool)).toBeNull();
    // Closing twice changes nothing; a closed request cannot be renewed back to life.
    await closeCaptureRequest(db.pool, opened.id);
    expect(await renewCaptureRequest(db.pool, opened.id, 30_000)).toBeNull();
    expect(await captureDeadline(db.pool)).toBeNull();
  });

  it('renews to now + lifetime, never earlier than it was, and lapses on its own when not renewed', async () => {
    const opened = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 300 });
    const renewed = await renewCaptureRequest(db.pool, opened.id, 20_000);
    expect(renewed).not.toBeNull();
    expect(renewed as number).toBeGreaterThanOrEqual(opened.expiresAt + 19_700);
    // A shorter lifetime does not pull the expiry in.
    expect(await renewCaptureRequest(db.pool, opened.id, 300)).toBe(renewed);
    expect(await captureDeadline(db.pool)).toBe(renewed);
    await closeCaptureRequest(db.pool, opened.id);

    const lapsing = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 300 });
    expect(await captureDeadline(db.pool)).toBe(lapsing.expiresAt);
    await new Promise((r) => setTimeout(r, 400));
    expect(await captureDeadline(db.pool)).toBeNull();
    // Still open (nobody closed it), but expired: it no longer counts.
    expect((await captureRequest(db.pool, lapsing.id))?.closedAt).toBeNull();
  });

  it('answers the latest expiry among open requests, ignoring closed ones', async () => {
    const a = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 10_000 });
    const b = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 40_000 });
    const c = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 60_000 });
    await closeCaptureRequest(db.pool, c.id);
    expect(b.expiresAt).toBeGreaterThan(a.expiresAt);
    expect(await captureDeadline(db.pool)).toBe(b.expiresAt);
    await closeCaptureRequest(db.pool, b.id);
    expect(await captureDeadline(db.pool)).toBe(a.expiresAt);
    await closeCaptureRequest(db.pool, a.id);
    expect(await captureDeadline(db.pool)).toBeNull();
  });

  it('deletes requests that ended over a day ago when a new one opens, and keeps recent ones', async () => {
    const old = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {} });
    const recent = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {} });
    await db.pool.query(`UPDATE capture_requests SET expires_at = now() - interval '25 hours' WHERE id = $1`, [old.id]);
    await closeCaptureRequest(db.pool, recent.id);
    await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {} });
    expect(await captureRequest(db.pool, old.id)).toBeNull();
    expect(await captureRequest(db.pool, recent.id)).not.toBeNull();
  });

  it('refuses a lifetime outside 100 ms .. 10 min', async () => {
    await expect(openCaptureRequest(db.pool, { userId, reason: 'x', filter: {}, ttlMs: 10 })).rejects.toThrow(RangeError);
    await expect(openCaptureRequest(db.pool, { userId, reason: 'x', filter: {}, ttlMs: 3_600_000 })).rejects.toThrow(RangeError);
  });
});
