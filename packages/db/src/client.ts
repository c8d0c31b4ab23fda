/**
 * Database handles: a pg Pool for COPY and raw SQL on the high-volume tables, and a Prisma client (over the
 * same driver, through @prisma/adapter-pg) for metadata tables.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client';

// int8 (bigint) columns: counts and byte totals fit in a double for any realistic value; parse as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(connectionString: string, max = 20, statementTimeoutMs?: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: 'sextant',
    ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
  });
  // An idle client error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Nor may a checked-out client's: pg emits 'error' on a client whose connection ends (a fast shutdown of
  // the database) even when its running query already failed with it, and pg-pool listens only while the
  // client is idle, so an ingest transaction cut off mid-batch crashed the process (seen in
  // citus/coordinator-restart.citus-test.ts). The query's own promise still rejects.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function createPrisma(connectionString: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
}

export interface Db {
  pool: pg.Pool;
  /**
   * Same database, for queries users start (searches, maps, dashboards, the live tail): every statement is
   * cancelled after SEXTANT_QUERY_TIMEOUT_MS (default 10 s), so a pile of heavy searches cannot hold the
   * connections ingest needs. Ingest and maintenance use `pool`, without that limit.
   */
  queryPool: pg.Pool;
  prisma: PrismaClient;
  close(): Promise<void>;
}

/** SEXTANT_QUERY_TIMEOUT_MS, validated: a positive whole number of milliseconds. */
export function queryTimeoutMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env.SEXTANT_QUERY_TIMEOUT_MS ?? '10000';
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms < 100 || ms > 3_600_000)
    throw new Error(`SEXTANT_QUERY_TIMEOUT_MS must be milliseconds between 100 and 3600000, not ${raw}`);
  return ms;
}

export function connect(connectionString: string, opts: { poolSize?: number; queryTimeoutMs?: number } = {}): Db {
  const pool = createPool(connectionString, opts.poolSize);
  // Pools open connections only when used: processes that never query for users cost nothing.
  const queryPool = createPool(connectionString, opts.poolSize, opts.queryTimeoutMs ?? queryTimeoutMs());
  const prisma = createPrisma(connectionString);
  return {
    pool,
    queryPool,
    prisma,
    async close() {
      await prisma.$disconnect();
      await pool.end();
      await queryPool.end();
    },
  };
}

/** Runs fn in one transaction; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Whether the database answers a trivial query (GET /api/health). */
export async function databaseReachable(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
