/**
 * Unexpected failures reach a client as their kind, never as the raw text of PostgreSQL or of a system
 * error: here a real query fails on the real database (its table is gone) through the real HTTP API.
 */
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from './root';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

describe('internal errors', () => {
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: TRPCClientError<AppRouter>) => e,
    );

  it('answers failed SQL and Prisma queries with their codes and no database text', async () => {
    await h.db.pool.query('DROP TABLE edge_minute CASCADE');
    await h.db.pool.query('DROP TABLE services CASCADE');
    const now = Date.now();
    const sql = await failure(h.client(h.userToken).servicemap.get.query({ window: { since: now - 3_600_000, until: now } }));
    expect(sql).toBeInstanceOf(TRPCClientError);
    expect(sql!.data?.httpStatus).toBe(500);
    expect(sql!.message).toBe('database error (SQLSTATE 42P01); retry later');
    const prisma = await failure(h.client(h.userToken).dashboards.services.query({}));
    expect(prisma!.data?.httpStatus).toBe(500);
    expect(prisma!.message).toBe('database error (P2021); retry later');
    for (const e of [sql, prisma])
      expect(JSON.stringify({ m: e!.message, d: e!.data })).not.toMatch(/relation|edge_minute|does not exist|prisma\.|public\./);
  });
});
