/** Benchmark plumbing: a throwaway embedded PostgreSQL (or DATABASE_URL) with migrated databases. */
import pg from 'pg';
import { databaseUrl, migrateDatabase, serverForTests } from '@sextant/db';

export interface BenchPostgres {
  serverUrl: string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const server = await serverForTests('sextant-bench-');
  const url = server.url;
  return {
    serverUrl: url,
    async createDatabase(name) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const dbUrl = databaseUrl(url, name);
      await migrateDatabase(dbUrl, { quiet: true });
      return dbUrl;
    },
    stop: server.stop,
  };
}

export function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)] ?? NaN;
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
