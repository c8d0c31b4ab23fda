/**
 * The live tail's guard on Citus. The tail reads only rows of transactions below its snapshot's xmin,
 * trusting that a transaction no longer running has all its rows visible. On Citus an ingest transaction
 * is the coordinator's (its ingest_xid default is evaluated there, and so is the tail's xmin), but it stops
 * running at the coordinator's local commit, before `COMMIT PREPARED` has made its rows visible on the
 * workers: a tail poll in that window would move its cursor past rows it could not yet see.
 *
 * So on Citus ingest holds a shared advisory lock across its COMMIT (session level: it outlives the
 * transaction until COMMIT has returned, i.e. the workers committed), and the tail reads xmin while holding
 * the exclusive one: it waits for the commits in flight, and none can start while it reads. On one
 * PostgreSQL neither is needed (a commit is visible when the transaction ends) and neither runs.
 *
 * A worker lost between PREPARE and COMMIT PREPARED leaves its part of a committed batch prepared (invisible)
 * until Citus's recovery commits it after the worker is back; ingest keeps the fence until then (awaitRecovery),
 * so the tail does not pass those rows (api/src/citus/commit-window.citus-test.ts).
 */
import type pg from 'pg';
import { isCitus } from './distribute';

const LOCK = `hashtext('sextant.ingest.commit')`;
const citusPools = new WeakMap<pg.Pool, Promise<boolean>>();

/** Whether the pool's database is a Citus coordinator (asked once per pool). */
export function poolOnCitus(pool: pg.Pool): Promise<boolean> {
  let known = citusPools.get(pool);
  if (!known) {
    known = isCitus(pool);
    known.catch(() => citusPools.delete(pool));
    citusPools.set(pool, known);
  }
  return known;
}

/** How long a commit left in doubt on a worker waits for Citus's recovery before it lets the tail go on. */
export const RECOVERY_WAIT_MS = 10 * 60_000;
const RECOVERY_RETRY_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** COMMIT of an ingest transaction on `client`, fenced on Citus (see the file comment). */
export async function commitFenced(client: pg.PoolClient, citus: boolean): Promise<void> {
  if (!citus) {
    await client.query('COMMIT');
    return;
  }
  await client.query(`SELECT pg_advisory_lock_shared(${LOCK})`);
  // Citus reports a worker it could not COMMIT PREPARED on as a WARNING of the COMMIT, which still succeeds.
  let warned = false;
  const onNotice = (n: { severity?: string }) => {
    if (n.severity === 'WARNING') warned = true;
  };
  client.on('notice', onNotice);
  try {
    // The 32-bit id the coordinator's rows of this transaction carry as xmin, pg_dist_transaction's included.
    const xid = String((await client.query(`SELECT (txid_current() % 4294967296)::text AS x`)).rows[0].x);
    await client.query('COMMIT');
    if (warned) await awaitRecovery(client, xid);
  } finally {
    client.off('notice', onNotice);
    await client.query(`SELECT pg_advisory_unlock_shared(${LOCK})`).catch(() => {});
  }
}

/**
 * A commit Citus could not finish on some worker (lost between PREPARE and COMMIT PREPARED): its rows there
 * stay prepared, invisible, until Citus's recovery commits them once the worker is reachable. Keep the fence
 * (the tail waits) and run the recovery until none of this transaction's commit records (pg_dist_transaction
 * rows written by it) is left, i.e. every worker committed its part. Bounded by RECOVERY_WAIT_MS; past it the
 * maintenance daemon still recovers the rows, but a tail may have passed them.
 */
async function awaitRecovery(client: pg.PoolClient, xid: string): Promise<void> {
  const deadline = Date.now() + RECOVERY_WAIT_MS;
  // Citus revokes recover_prepared_transactions() from PUBLIC: without the grant, the maintenance daemon's
  // own recovery (every citus.recover_2pc_interval, 1 min by default) is waited for instead.
  let mayRecover = true;
  for (;;) {
    try {
      if (mayRecover)
        await client.query('SELECT recover_prepared_transactions()').catch((err: { code?: string }) => {
          if (err.code !== '42501') throw err;
          mayRecover = false;
        });
      const left = await client.query(`SELECT count(*)::int AS n FROM pg_dist_transaction WHERE xmin = $1::xid`, [xid]);
      if (left.rows[0].n === 0) return;
    } catch {
      // The worker is still unreachable: try again.
    }
    if (Date.now() > deadline) {
      console.error(
        `citus: a batch's commit on a worker is still in doubt after ${RECOVERY_WAIT_MS / 1000} s; a live tail may skip its rows`,
      );
      return;
    }
    await sleep(RECOVERY_RETRY_MS);
  }
}

/**
 * On Citus: the xmin of a snapshot taken when no ingest commit is in flight, so every transaction below it
 * has committed on every node. Null on one PostgreSQL (the tail reads xmin in its own statement there).
 */
export async function fencedXmin(pool: pg.Pool): Promise<string | null> {
  if (!(await poolOnCitus(pool))) return null;
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK})`);
    try {
      return String((await client.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x`)).rows[0].x);
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK})`);
    }
  } finally {
    client.release();
  }
}
