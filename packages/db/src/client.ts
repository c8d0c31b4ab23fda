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

export function createPool(connectionString: string, max = 20): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'sextant' });
  // An idle client error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

export function createPrisma(connectionString: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
}

export interface Db {
  pool: pg.Pool;
  prisma: PrismaClient;
  close(): Promise<void>;
}

export function connect(connectionString: string, opts: { poolSize?: number } = {}): Db {
  const pool = createPool(connectionString, opts.poolSize);
  const prisma = createPrisma(connectionString);
  return {
    pool,
    prisma,
    async close() {
      await prisma.$disconnect();
      await pool.end();
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
