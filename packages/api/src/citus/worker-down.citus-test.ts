/**
 * Citus only (npm run test:citus, packages/db/vitest.citus.config.ts): a worker stopped while collectors push.
 * Every batch spreads over every shard, so while a worker is down each one fails; the API must answer the
 * retryable INTERNAL_SERVER_ERROR (a collector keeps the batch in its spool and sends it again, never the
 * 400 it would set aside), store nothing of it, and once the worker is back the same batches are stored
 * exactly once. A worker stopped in the middle of a batch's COPY is the same case from the coordinator's side:
 * the connection breaks and the distributed transaction rolls back on every node.
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
  // Never leave the shared cluster without its worker, whatever failed.
  if (cluster) await startCitusNode(cluster.workers[1]!, cluster.dir).catch(() => {});
  await h?.close();
});

const now = Date.now();
const batch = (seed: number) => generatedBatch(seed, 200, now);
const stored = (b: IngestBatchInput) => storedOf(h.db.pool, b.batchId);

describe('a Citus worker stopped during ingest', () => {
  it.skipIf(!cluster)(
    'batches fail with a retryable answer, nothing is stored, and after the worker is back each is stored once',
    async () => {
      const c = h.client(h.collectorToken);
      const before = batch(1);
      expect((await c.ingest.push.mutate(before)).stored).toBe(true);
      const worker = cluster!.workers[1]!;
      const pending = [batch(2), batch(3), batch(4)];
      // One batch is in flight when the worker goes away; the others arrive while it is down.
      const inFlight = c.ingest.push.mutate(pending[0]!).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      await stopCitusNode(worker, 'immediate');
      const first = await inFlight;
      const answers = [
        first,
        ...(await Promise.all(
          pending.slice(1).map((b) =>
            c.ingest.push.mutate(b).then(
              (r) => ({ ok: true as const, r }),
              (e: unknown) => ({ ok: false as const, e }),
            ),
          ),
        )),
      ];
      for (const [i, a] of answers.entries()) {
        if (a.ok) {
          // Only the in-flight batch may have committed before the worker stopped.
          expect(i).toBe(0);
          continue;
        }
        expect(a.e).toBeInstanceOf(TRPCClientError);
        const err = a.e as TRPCClientError<never>;
        expect(err.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
        expect(err.message).toContain('retry later');
      }
      const failed = pending.filter((_, i) => !answers[i]!.ok);
      expect(failed.length).toBeGreaterThanOrEqual(2);

      await startCitusNode(worker, cluster!.dir);
      // The collector's retries: the spooled batches again, then every batch once more (as after a lost answer).
      for (const b of failed) expect((await c.ingest.push.mutate(b)).stored).toBe(true);
      for (const b of [before, ...pending]) expect((await c.ingest.push.mutate(b)).stored).toBe(false);
      for (const b of [before, ...pending]) {
        expect(await stored(b)).toEqual({ receipts: 1, flows: b.flows?.length, l7: b.l7?.length });
      }
    },
  );
});
