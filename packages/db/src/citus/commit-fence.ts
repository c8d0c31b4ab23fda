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

/** COMMIT of an ingest transaction on `client`, fenced on Citus (see the file comment). */
export async function commitFenced(client: pg.PoolClient, citus: boolean): Promise<void> {
  if (!citus) {
    await client.query('COMMIT');
    return;
  }
  await client.query(`SELECT pg_advisory_lock_shared(${LOCK})`);
  try {
    await client.query('COMMIT');
  } finally {
    await client.query(`SELECT pg_advisory_unlock_shared(${LOCK})`).catch(() => {});
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
