/**
 * A Citus cluster on loopback: one coordinator and N workers, each its own PostgreSQL 15 server (Debian's
 * binaries with the citus.so that scripts/citus/build.sh installs), data directories under one directory,
 * free ports on 127.0.0.1. For the test suites (SEXTANT_TEST_CITUS=1) and `npm run citus:start`; real fleets
 * use Citus's own packages or a managed Citus (README, "Running on Citus").
 *
 * Authentication is scram-sha-256 for every client. The nodes reach each other with the same user and
 * password through a passfile named in the servers' environment (PGPASSFILE), so no node trusts the network.
 * As root, initdb and the servers run as the `postgres` system user (PostgreSQL refuses root).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, freePort } from '../embedded';

export const PG15_BIN = '/usr/lib/postgresql/15/bin';
export const CITUS_SO = '/usr/lib/postgresql/15/lib/citus.so';
const USER = 'sextant';
const PASSWORD = 'sextant';

export interface CitusNode {
  name: string;
  port: number;
  dataDir: string;
}

export interface CitusCluster {
  /** URL of the coordinator's `postgres` database (Citus is created and the workers registered there). */
  url: string;
  coordinator: CitusNode;
  workers: CitusNode[];
  dir: string;
  stop(): Promise<void>;
}

export interface CitusClusterOptions {
  /** Holds one data directory per node; default: a new temporary directory, removed by stop(). */
  dir?: string;
  workers?: number;
  /** Fixed ports (coordinator, then workers); default: free ports. */
  ports?: number[];
  /**
   * Throwaway clusters for tests: fsync and synchronous commit off (a crash loses the cluster, which the
   * tests recreate anyway). Default false.
   */
  fast?: boolean;
  /** Libraries loaded after citus (shared_preload_libraries), e.g. pg_stat_statements for the benchmarks. */
  preload?: string[];
  log?: (line: string) => void;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const ids = postgresIds();
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(PG15_BIN, bin), args, {
      ...(ids ?? {}),
      cwd: os.tmpdir(),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

function chownToPostgres(p: string): void {
  const ids = postgresIds();
  if (ids) fs.chownSync(p, ids.uid, ids.gid);
}

/** URL of `database` on a node, with the cluster's user and password. */
export function nodeUrl(port: number, database = 'postgres'): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

async function initNode(node: CitusNode, dir: string, fast: boolean, preload: string[] = []): Promise<void> {
  const pwfile = path.join(dir, 'pwfile');
  if (!fs.existsSync(path.join(node.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(node.dataDir, { recursive: true, mode: 0o700 });
    chownToPostgres(node.dataDir);
    await run('initdb', ['-D', node.dataDir, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C']);
  }
  // Appended settings win over earlier lines; the port is rewritten on every start.
  const conf = [
    `port = ${node.port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = ''`,
    // Citus must come first.
    `shared_preload_libraries = '${['citus', ...preload].join(',')}'`,
    // Citus commits multi-node transactions with two-phase commit.
    `max_prepared_transactions = 200`,
    `max_connections = 300`,
    `shared_buffers = 256MB`,
    `work_mem = 32MB`,
    `jit = off`,
    // Loopback between the nodes, no TLS configured.
    `citus.node_conninfo = 'sslmode=disable'`,
    ...(fast ? ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off'] : []),
  ];
  fs.writeFileSync(path.join(node.dataDir, 'sextant.conf'), conf.join('\n') + '\n');
  chownToPostgres(path.join(node.dataDir, 'sextant.conf'));
  const main = path.join(node.dataDir, 'postgresql.conf');
  const text = fs.readFileSync(main, 'utf8');
  if (!text.includes(`include_if_exists = 'sextant.conf'`)) fs.appendFileSync(main, `\ninclude_if_exists = 'sextant.conf'\n`);
}

/** Starts one node of a cluster made by startCitusCluster (`dir`: the cluster's directory). */
export async function startNode(node: CitusNode, dir: string): Promise<void> {
  await run('pg_ctl', ['-D', node.dataDir, '-l', path.join(dir, `${node.name}.log`), '-w', '-t', '60', 'start'], {
    PGPASSFILE: path.join(dir, 'pgpass'),
    // libpq in the server looks for client certificates under $HOME: not ours (root's) when we are root.
    HOME: dir,
  });
}

/** Immediate for throwaway clusters (their directory is removed next), fast (clean shutdown) otherwise. */
export async function stopNode(node: CitusNode, mode: 'fast' | 'immediate'): Promise<void> {
  if (!fs.existsSync(path.join(node.dataDir, 'postmaster.pid'))) return;
  await run('pg_ctl', ['-D', node.dataDir, '-w', '-t', '60', '-m', mode, 'stop']).catch(() => {});
}

async function sql(url: string, statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** The same server URL with another host, port and (optionally) database. */
export function atNode(url: string, host: string, port: number, database?: string): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return database ? databaseUrl(u.toString(), database) : u.toString();
}

/** Worker nodes registered in the coordinator database at `url`, or null when it is not a Citus database. */
export async function citusWorkers(url: string): Promise<{ host: string; port: number }[] | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const ext = await c.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`);
    if (ext.rowCount === 0) return null;
    const r = await c.query<{ nodename: string; nodeport: number }>(
      `SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeid`,
    );
    return r.rows.map((x) => ({ host: x.nodename, port: x.nodeport }));
  } finally {
    await c.end();
  }
}

/**
 * Makes `database` a Citus database on every node: created where missing (Citus 13 does not propagate
 * CREATE DATABASE), the extension in each, the coordinator's address set and the workers added. `serverUrl`
 * is any database of the coordinator; the workers take the same user and password. Returns the URL of
 * `database` on the coordinator.
 */
export async function prepareCitusDatabase(
  serverUrl: string,
  workers: { host: string; port: number }[],
  database: string,
): Promise<string> {
  const u = new URL(serverUrl);
  const coordinator = { host: u.hostname, port: Number(u.port || 5432) };
  const nodes = [coordinator, ...workers];
  for (const n of nodes) {
    const c = new pg.Client({ connectionString: atNode(serverUrl, n.host, n.port) });
    await c.connect();
    try {
      const exists = await c.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database]);
      if (exists.rowCount === 0) await c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    } finally {
      await c.end();
    }
    await sql(atNode(serverUrl, n.host, n.port, database), ['CREATE EXTENSION IF NOT EXISTS citus']);
  }
  const url = atNode(serverUrl, coordinator.host, coordinator.port, database);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`SELECT citus_set_coordinator_host($1, $2)`, [coordinator.host, coordinator.port]);
    for (const w of workers) {
      const known = await c.query(`SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2`, [w.host, w.port]);
      if (known.rowCount === 0) await c.query(`SELECT citus_add_node($1, $2)`, [w.host, w.port]);
    }
  } finally {
    await c.end();
  }
  return url;
}

/** Starts (initialising on first use) a coordinator and `workers` workers; see the file comment. */
export async function startCitusCluster(opts: CitusClusterOptions = {}): Promise<CitusCluster> {
  if (!fs.existsSync(CITUS_SO)) throw new Error(`Citus is not installed (${CITUS_SO} is missing): run scripts/citus/build.sh`);
  const log = opts.log ?? (() => {});
  const temporary = !opts.dir;
  const dir = path.resolve(opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-citus-')));
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  chownToPostgres(dir);
  const files: [string, string][] = [
    ['pwfile', `${PASSWORD}\n`],
    ['pgpass', `127.0.0.1:*:*:${USER}:${PASSWORD}\n`],
  ];
  for (const [file, text] of files) {
    fs.writeFileSync(path.join(dir, file), text, { mode: 0o600 });
    chownToPostgres(path.join(dir, file));
  }
  const count = opts.workers ?? 2;
  const nodes: CitusNode[] = [];
  for (let i = 0; i <= count; i++) {
    const name = i === 0 ? 'coordinator' : `worker${i}`;
    nodes.push({ name, port: opts.ports?.[i] ?? (await freePort()), dataDir: path.join(dir, name) });
  }
  const started: CitusNode[] = [];
  const stop = async () => {
    await Promise.all(started.map((n) => stopNode(n, temporary ? 'immediate' : 'fast')));
    if (temporary) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => initNode(n, dir, opts.fast ?? false, opts.preload)));
    await Promise.all(
      nodes.map(async (n) => {
        await startNode(n, dir);
        started.push(n);
        log(`${n.name} on 127.0.0.1:${n.port}`);
      }),
    );
    const coordinator = nodes[0] as CitusNode;
    const workers = nodes.slice(1);
    const url = await prepareCitusDatabase(
      nodeUrl(coordinator.port),
      workers.map((w) => ({ host: '127.0.0.1', port: w.port })),
      'postgres',
    );
    return { url, coordinator, workers, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
