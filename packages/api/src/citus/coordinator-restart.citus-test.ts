/**
 * Citus only (npm run test:citus): the coordinator stopped (fast shutdown, as a restart or failover does) while
 * a batch is being stored. The batch in flight and the ones sent while the coordinator is down must answer
 * 5xx INTERNAL_SERVER_ERROR "retry later" (a collector keeps such a batch in its spool and resends it; a 4xx
 * it would set aside), nothing of the interrupted batch may be stored, no prepared transaction may be left
 * on a worker, and after the restart the collector's retries store each batch exactly once (receipt and rows
 * commit together: the receipt is written in the same distributed transaction).
 */
import { generatedBatch, startCitusNode, stopCitusNode, storedOf, testCitusCluster } from '@sextant/db/testing';
import type { IngestBatchInput } from '@sextant/shared';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/api-harness';

const cluster = testCitusCluster();
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  // Never leave the shared cluster without its coordinator, whatever failed.
  if (cluster) await startCitusNode(cluster.coordinator, cluster.dir).catch(() => {});
  await h?.close();
});

const now = Date.now();
const batch = (seed: number, connections: number) => generatedBatch(seed, connections, now);
const count = async (sql: string, params: unknown[] = []) => Number((await h.db.pool.query(sql, params)).rows[0].n);
const stored = (b: IngestBatchInput) => storedOf(h.db.pool, b.batchId);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settle = <T>(p: Promise<T>) =>
  p.then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );

function expectRetryable(a: { ok: boolean; e?: unknown }): void {
  expect(a.ok).toBe(false);
  expect(a.e).toBeInstanceOf(TRPCClientError);
  const err = a.e as TRPCClientError<never>;
  expect(err.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 });
  expect(err.message).toContain('retry later');
}

describe('the Citus coordinator restarted mid-batch', () => {
  it.skipIf(!cluster)('the batch in flight fails retryable, nothing of it is stored, and after the restart it is stored once', async () => {
    const c = h.client(h.collectorToken);
    const before = batch(1, 100);
    expect((await c.ingest.push.mutate(before)).stored).toBe(true);

    // A large batch, and the coordinator stopped while its transaction is open with every row written: its last
    // statement (the collector's last_seen_at) waits for a lock this test holds on the collector's row, so the
    // stop always comes before the commit (polling for a running COPY raced with the commit at the end).
    const holder = await h.db.pool.connect();
    holder.on('error', () => {}); // terminated by the shutdown below
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM collectors WHERE id = $1 FOR UPDATE', [h.collectorId]);
    const big = batch(2, 4000);
    const inFlight = settle(c.ingest.push.mutate(big));
    let blocked = 0;
    for (let i = 0; i < 1200 && !blocked; i++) {
      blocked = await count(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND backend_xid IS NOT NULL AND query ~* '^\\s*UPDATE collectors'`,
      );
      if (!blocked) await sleep(25);
    }
    expect(blocked).toBe(1);
    await stopCitusNode(cluster!.coordinator, 'fast');
    holder.release(true);
    expectRetryable(await inFlight);
    // Sent while the coordinator is down: the gate cannot look the collector's token up, and answers a 5xx
    // (an empty 500 from the HTTP edge, not tRPC's JSON: the collector retries any answer that is not a 4xx).
    const whileDown = batch(3, 50);
    const res = await fetch(`${h.server.url}/api/trpc/ingest.push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.collectorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(whileDown),
    });
    expect(res.status).toBe(500);

    await startCitusNode(cluster!.coordinator, cluster!.dir);
    // Nothing of the interrupted batch, and no transaction left prepared on a worker.
    expect(await stored(big)).toEqual({ receipts: 0, flows: 0, l7: 0 });
    const prepared = await h.db.pool.query<{ result: string }>(
      `SELECT result FROM run_command_on_workers('SELECT count(*) FROM pg_prepared_xacts')`,
    );
    expect(prepared.rows.map((r) => r.result)).toEqual(['0', '0']);

    // The collector's retries, oldest first, with a short backoff (the first may meet a connection that died).
    for (const b of [big, whileDown]) {
      let answer = await settle(c.ingest.push.mutate(b));
      for (let attempt = 0; !answer.ok && attempt < 20; attempt++) {
        expectRetryable(answer);
        await sleep(250);
        answer = await settle(c.ingest.push.mutate(b));
      }
      expect(answer).toMatchObject({ ok: true, r: { stored: true } });
    }
    // And every batch once more (as after a lost answer): stored once, rows and receipt together.
    for (const b of [before, big, whileDown]) expect((await c.ingest.push.mutate(b)).stored).toBe(false);
    for (const b of [before, big, whileDown]) expect(await stored(b)).toEqual({ receipts: 1, flows: b.flows?.length, l7: b.l7?.length });
  });
});
