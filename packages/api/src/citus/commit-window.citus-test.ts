/**
 * Citus only (npm run test:citus): a worker lost between the two phases of a batch's commit. Citus commits a
 * batch with two-phase commit: PREPARE TRANSACTION on every worker, the coordinator's own commit (the
 * decision), then COMMIT PREPARED on every worker. The window between the decision and COMMIT PREPARED is held
 * open here by making the coordinator's commit wait for a synchronous standby that never connects
 * (synchronous_standby_names; the wait happens after the commit record is written and before Citus sends
 * COMMIT PREPARED); a worker is stopped inside it, then the wait released.
 *
 * What happens: the coordinator's COMMIT succeeds (Citus warns that it could not commit on the lost worker),
 * the collector gets "stored", and the batch's rows on that worker stay prepared (invisible) until Citus's
 * recovery commits them after the worker is back (the maintenance daemon every citus.recover_2pc_interval, or
 * recover_prepared_transactions()). The live tail must deliver them all the same, once: ingest holds the
 * commit fence (citus/commit-fence.ts) until the recovery has committed the lost worker's part, so the tail
 * cannot move its cursor past the batch while any of its rows is invisible.
 */
import { connect, createCollectorToken, createUser, login, type Db } from '@sextant/db';
import {
  createTestDatabase,
  generateTraffic,
  startCitusNode,
  stopCitusNode,
  testCitusCluster,
  testServerUrl,
  type TestDatabase,
} from '@sextant/db/testing';
import { encodeBatch } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestSignal } from '../live';
import { startStandaloneServer, type StandaloneServer } from '../standalone';
import { trpcClient } from '../testing/api-harness';
import { SEXTANT_VERSION } from '../version';
import { subscribeTail, type TailReader, until } from './tail-reader';

const cluster = testCitusCluster();
let db: TestDatabase;
let serverDb: Db;
let server: StandaloneServer;
let collectorToken: string;
let userToken: string;
const tails: TailReader[] = [];

const syncStandby = async (names: string | null) => {
  await db.pool.query(
    names === null ? 'ALTER SYSTEM RESET synchronous_standby_names' : `ALTER SYSTEM SET synchronous_standby_names = '${names}'`,
  );
  await db.pool.query('SELECT pg_reload_conf()');
};

beforeAll(async () => {
  if (!cluster) return;
  db = await createTestDatabase(testServerUrl());
  // The test cluster runs with synchronous_commit off; the server's sessions in this database wait for
  // synchronous standbys (none are configured outside the window below, so nothing waits).
  await db.pool.query(`ALTER DATABASE ${db.url.split('/').pop()!.split('?')[0]} SET synchronous_commit = on`);
  serverDb = connect(db.url, { poolSize: 8 });
  server = await startStandaloneServer({ db: serverDb, version: SEXTANT_VERSION, onIngest: () => ingestSignal.notify() });
  collectorToken = (await createCollectorToken(db.prisma, 'window-host')).token;
  await createUser(db.prisma, 'window@example.com', 'correct horse battery staple', 'viewer');
  userToken = (await login(db.prisma, 'window@example.com', 'correct horse battery staple'))?.token ?? '';
});
afterAll(async () => {
  if (!cluster) return;
  for (const t of tails) t.stop();
  await syncStandby(null).catch(() => {});
  await startCitusNode(cluster.workers[1]!, cluster.dir).catch(() => {});
  await server?.close();
  await serverDb?.close();
  await db?.close();
});

const now = Date.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

describe('a Citus worker lost between PREPARE and COMMIT PREPARED', () => {
  it.skipIf(!cluster)('the batch is stored, its rows appear after recovery, and the live tail delivers every one once', async () => {
    const collector = trpcClient(server.url, collectorToken);
    const push = async (seed: number, connections: number) => {
      const t = generateTraffic({ seed, connections, start: now - 10 * 60_000, end: now - 60_000, services: 12 });
      const b = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7 });
      return { b, ids: [...t.flows, ...t.l7].map((r) => r.id), answer: collector.ingest.push.mutate(b) };
    };
    let tail = subscribeTail(server.url, userToken, {});
    tails.push(tail);
    const marker = await push(1, 1);
    expect((await marker.answer).stored).toBe(true);
    await until(() => tail.records.length >= marker.ids.length, 30_000);
    expect(tail.records).toEqual(marker.ids);

    await syncStandby('sextant_never_connects');
    await sleep(1000); // the checkpointer publishes the setting that makes commits wait
    const x = await push(2, 200);
    // The batch's own COMMIT waiting (other writers, e.g. the tail's capture request renewal, wait there too).
    let ingestPid = 0;
    for (let i = 0; i < 400 && !ingestPid; i++) {
      const r = await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND query ~* '^\\s*COMMIT' AND datname = current_database()`,
      );
      ingestPid = r.rows[0]?.pid ?? 0;
      if (!ingestPid) await sleep(25);
    }
    expect(ingestPid).toBeGreaterThan(0);
    const preparedCounts = async (pid?: number) =>
      (
        await db.pool.query<{ result: string }>(
          `SELECT result FROM run_command_on_workers($1)`,
          // Citus names a prepared transaction citus_<group>_<coordinator backend pid>_<transaction>_<connection>.
          [`SELECT count(*) FROM pg_prepared_xacts${pid ? ` WHERE gid LIKE 'citus\\_%\\_${pid}\\_%'` : ''}`],
        )
      ).rows.map((r) => Number(r.result));
    // Inside the window: the batch is prepared on both workers and decided on the coordinator.
    for (const n of await preparedCounts(ingestPid)) expect(n).toBeGreaterThan(0);
    await stopCitusNode(cluster!.workers[1]!, 'immediate');
    await syncStandby(null);
    let settled = false;
    const answer = x.answer.finally(() => (settled = true));
    // The worker is down, so its part cannot commit: ingest keeps the fence and has not answered.
    await sleep(2000);
    expect(settled).toBe(false);
    const visibleWhileDown = await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [x.b.batchId]).catch(() => -1);
    // Any read that touches the lost worker's shards fails meanwhile (searches, the tail's page).
    expect(visibleWhileDown).toBe(-1);

    await startCitusNode(cluster!.workers[1]!, cluster!.dir);
    expect((await answer).stored).toBe(true);
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [x.b.batchId])).toBe(x.b.flows?.length);
    expect(await count('SELECT count(*) AS n FROM l7_events WHERE batch_id = $1', [x.b.batchId])).toBe(x.b.l7?.length);
    expect(await preparedCounts()).toEqual([0, 0]);

    // A tail whose read failed while the worker was down reconnects from its last event, as the UI's link does.
    if (tail.error) {
      tail = subscribeTail(server.url, userToken, { lastEventId: tail.lastEventId });
      tails.push(tail);
    }
    const y = await push(3, 20);
    expect((await y.answer).stored).toBe(true);
    const expected = [...marker.ids, ...x.ids, ...y.ids];
    const delivered = () => tails.flatMap((t) => t.records);
    await until(() => delivered().length >= expected.length, 30_000);
    await sleep(1500); // a duplicate would show within the next polls
    expect(delivered().length).toBe(expected.length);
    expect(new Set(delivered())).toEqual(new Set(expected));
  });
});
