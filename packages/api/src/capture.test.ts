/**
 * On-demand capture on the real API (real HTTP server, real PostgreSQL): a live tail makes `collectors.control`
 * answer a deadline, keeps renewing it, and ends it when the tail ends; a second server replica on the same
 * database answers the same; who may call what. Capture timing is shortened through the server's options.
 */
import { captureDeadline, createCollectorToken, createUser, login, openCaptureRequest } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandaloneServer, type StandaloneServer } from './standalone';
import { trpcClient } from './testing/api-harness';
import { SEXTANT_VERSION } from './version';

const TTL_MS = 3000;
const RENEW_MS = 300;

let db: TestDatabase;
let server: StandaloneServer;
let replica: StandaloneServer;
let collectorToken: string;
let userToken: string;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  server = await startStandaloneServer({ db, version: SEXTANT_VERSION, capture: { ttlMs: TTL_MS, renewMs: RENEW_MS } });
  replica = await startStandaloneServer({ db, version: SEXTANT_VERSION, capture: { ttlMs: TTL_MS, renewMs: RENEW_MS } });
  collectorToken = (await createCollectorToken(db.prisma, 'capture-host')).token;
  userId = (await createUser(db.prisma, 'capture@example.com', 'correct horse battery staple', 'viewer')).id;
  userToken = (await login(db.prisma, 'capture@example.com', 'correct horse battery staple'))?.token ?? '';
});
afterAll(async () => {
  await server?.close();
  await replica?.close();
  await db?.close();
});

/** A live-tail subscription held open as an event stream; `stop()` drops it like a closed browser tab. */
async function openTail(url: string, token: string, input: Record<string, unknown>) {
  const ac = new AbortController();
  const res = await fetch(`${url}/api/trpc/flows.tail?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: ac.signal,
  });
  // Keep reading so the server is never held up by a full socket.
  const reading = res.body
    ? (async () => {
        const reader = res.body!.getReader();
        for (;;) if ((await reader.read()).done) return;
      })().catch(() => {})
    : Promise.resolve();
  return {
    status: res.status,
    async stop() {
      ac.abort();
      await reading;
    },
  };
}

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const openRows = async () =>
  (await db.pool.query(`SELECT id, user_id, reason, filter, closed_at FROM capture_requests WHERE closed_at IS NULL`)).rows as {
    user_id: string;
    reason: string;
    filter: unknown;
  }[];

describe('on-demand capture', () => {
  it('answers a deadline while a live tail runs, renews it past its lifetime, and ends it with the tail', async () => {
    const control = trpcClient(server.url, collectorToken).collectors.control;
    const onReplica = trpcClient(replica.url, collectorToken).collectors.control;
    expect(await control.query()).toEqual({ recordAllUntil: null });

    const filter = { allow: [{ destinationService: ['orders-api'] }], deny: [] };
    const tail = await openTail(server.url, userToken, { filter });
    expect(tail.status).toBe(200);
    const first = await waitFor(
      () => control.query(),
      (v) => v.recordAllUntil !== null,
    );
    expect(first.recordAllUntil).not.toBeNull();
    const rows = await openRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_id: userId, reason: 'live tail', filter });
    // Another server process on the same database tells its collectors the same.
    expect(await onReplica.query()).toEqual(first);

    // Past the first deadline the tail has renewed it: still active, and later.
    await new Promise((r) => setTimeout(r, Math.max(0, (first.recordAllUntil as number) - Date.now()) + RENEW_MS));
    const later = await control.query();
    expect(later.recordAllUntil).not.toBeNull();
    expect(later.recordAllUntil as number).toBeGreaterThan(first.recordAllUntil as number);

    await tail.stop();
    const after = await waitFor(
      () => control.query(),
      (v) => v.recordAllUntil === null,
    );
    expect(after).toEqual({ recordAllUntil: null });
    // Closed by the ending tail, not merely lapsed.
    expect(await openRows()).toEqual([]);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM capture_requests WHERE closed_at IS NOT NULL`)).rows[0].n)).toBe(1);
  });

  it('lets a request nobody renews (its server crashed) lapse on its own', async () => {
    const control = trpcClient(server.url, collectorToken).collectors.control;
    const orphan = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 400 });
    expect(await control.query()).toEqual({ recordAllUntil: orphan.expiresAt });
    const after = await waitFor(
      () => control.query(),
      (v) => v.recordAllUntil === null,
      3000,
    );
    expect(after).toEqual({ recordAllUntil: null });
  });

  it('answers control to collectors only, and opens captures for signed-in users only', async () => {
    await expect(trpcClient(server.url, userToken).collectors.control.query()).rejects.toSatisfy(
      (e) => e instanceof TRPCClientError && e.data?.code === 'UNAUTHORIZED',
    );
    await expect(trpcClient(server.url, null).collectors.control.query()).rejects.toSatisfy(
      (e) => e instanceof TRPCClientError && e.data?.code === 'UNAUTHORIZED',
    );
    const before = Number((await db.pool.query('SELECT count(*) AS n FROM capture_requests')).rows[0].n);
    const asCollector = await openTail(server.url, collectorToken, {});
    expect(asCollector.status).toBe(401);
    await asCollector.stop();
    const anonymous = await openTail(server.url, 'sxc_not-a-token', {});
    expect(anonymous.status).toBe(401);
    await anonymous.stop();
    // A filter the tail refuses starts no capture either.
    const refused = await openTail(server.url, userToken, { filter: { allow: [{ sourceIp: ['not-an-ip'] }], deny: [] } });
    await refused.stop();
    expect(Number((await db.pool.query('SELECT count(*) AS n FROM capture_requests')).rows[0].n)).toBe(before);
    expect(await captureDeadline(db.pool)).toBeNull();
  });
});
