import { bucketIndex, encodeBatch, fromSparse, type Histogram, quantile, toSparse } from '@sextant/shared';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, login } from '@sextant/db';
import type { AppRouter } from './root';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

describe('collector health and kernel histograms', () => {
  it('lists a collector with its latest health report after it ships one', async () => {
    const c = h.client(h.collectorToken);
    await c.ingest.register.mutate({ hostname: 'edge-7', version: '0.1.0', kernel: '6.18.44' });
    const now = Date.now();
    await c.ingest.push.mutate(
      encodeBatch({
        batchId: crypto.randomUUID(),
        sentAt: now,
        health: {
          time: now,
          version: '0.1.0',
          kernel: '6.18.44',
          hostname: 'edge-7',
          eventsPerSecond: 1234.5,
          lostEvents: 7,
          parsedBytes: 900,
          unparsedBytes: 100,
          spoolBytes: 4096,
        },
      }),
    );
    const list = await h.client(h.userToken).collectors.list.query();
    const me = list.find((x) => x.id === h.collectorId);
    expect(me).toMatchObject({ hostname: 'edge-7', kernel: '6.18.44', version: '0.1.0' });
    expect(me?.health).toMatchObject({ eventsPerSecond: 1234.5, lostEvents: 7, spoolBytes: 4096 });
    expect(Date.now() - (me?.lastSeenAt ?? 0)).toBeLessThan(10_000);
    const rows = Number(
      (await h.db.pool.query('SELECT count(*) AS n FROM collector_health WHERE collector_id = $1', [h.collectorId])).rows[0].n,
    );
    expect(rows).toBe(1);
  });

  it('merges kernel histograms of one minute from several batches into one latency row', async () => {
    const c = h.client(h.collectorToken);
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const all: Histogram = new Map();
    for (let b = 0; b < 3; b++) {
      const part: Histogram = new Map();
      for (let i = 1; i <= 1000; i++) {
        const v = (i + b * 1000) * 10_000; // 10 µs .. 30 ms
        part.set(bucketIndex(v), (part.get(bucketIndex(v)) ?? 0) + 1);
        all.set(bucketIndex(v), (all.get(bucketIndex(v)) ?? 0) + 1);
      }
      const { idx, cnt } = toSparse(part);
      await c.ingest.push.mutate(
        encodeBatch({
          batchId: crypto.randomUUID(),
          sentAt: Date.now(),
          histograms: [
            {
              kind: 'tcp_connect',
              windowStart: minute + b * 10_000,
              windowSeconds: 10,
              nodeName: 'edge-7',
              sourceService: 'curl',
              destinationService: 'nginx',
              idx,
              cnt,
            },
          ],
        }),
      );
    }
    const rows = (await h.db.pool.query(`SELECT samples, hist_idx, hist_cnt FROM latency_minute WHERE kind = 'tcp_connect'`)).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0].samples).toBe(3000);
    const merged = fromSparse({ idx: rows[0].hist_idx, cnt: rows[0].hist_cnt.map(Number) });
    expect(quantile(merged, 0.95)).toBeCloseTo(quantile(all, 0.95) ?? 0, 6);
    // Reported as its bucket's upper bound: at or above the exact p95, within the 12.5 % bucket width.
    expect(quantile(merged, 0.95) ?? 0).toBeGreaterThanOrEqual(28_500_000);
    expect(((quantile(merged, 0.95) ?? 0) - 28_500_000) / 28_500_000).toBeLessThanOrEqual(0.125);
  });

  it('lets only admins create and revoke collector tokens', async () => {
    await createUser(h.db.prisma, 'viewer@example.com', 'viewer password', 'viewer');
    const s = await login(h.db.prisma, 'viewer@example.com', 'viewer password');
    const viewer = h.client(s?.token);
    const err = await viewer.collectors.create.mutate({ name: 'nope' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe('FORBIDDEN');
    expect((await viewer.collectors.list.query()).length).toBeGreaterThan(0);
    const bad = await h
      .client(h.userToken)
      .collectors.create.mutate({ name: "x'; DROP TABLE users; --" })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((bad as TRPCClientError<AppRouter>).data?.code).toBe('BAD_REQUEST');
  });

  it('signs in with a password and rejects a wrong one', async () => {
    const ok = await h.client(null).auth.login.mutate({ email: 'admin@example.com', password: 'correct horse battery staple' });
    expect(ok.user.role).toBe('admin');
    expect((await h.client(ok.token).auth.me.query()).email).toBe('admin@example.com');
    const wrong = await h
      .client(null)
      .auth.login.mutate({ email: 'admin@example.com', password: 'nope' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((wrong as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
    const stored = (await h.db.pool.query('SELECT password_hash FROM users WHERE email = $1', ['admin@example.com'])).rows[0]
      .password_hash as string;
    expect(stored.startsWith('scrypt$')).toBe(true);
    expect(stored).not.toContain('correct horse');
  });
});
