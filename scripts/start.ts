/**
 * `npm start`: runs Sextant on this machine. Starts an embedded PostgreSQL under .sextant/ unless
 * DATABASE_URL is set, applies migrations, creates the first admin (printed once), builds the web app when
 * its build is missing or older than the sources, serves UI + API on PORT (default 3000), and starts a
 * local collector when eBPF is available here (otherwise says why).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connect, databaseUrl, migrateDatabase, REPO_ROOT, startEmbeddedPostgres } from '../packages/db/src/index';
import { ensureFirstAdmin, ensureLocalCollectorToken } from './start-accounts';
import { webBuildIsStale } from './start-build';
import { COLLECTOR_BIN, collectorLaunch } from '../apps/collector/scripts/node-flags.mjs';

const STATE_DIR = path.join(REPO_ROOT, '.sextant');
const NEXT_BIN = path.join(REPO_ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
const PORT = Number(process.env.PORT ?? 3000);
// All interfaces by default: collectors on other hosts send to this port, with their token. HOST=127.0.0.1
// keeps it on this machine (a local collector only, or a reverse proxy in front): README, Configuration.
const HOST = process.env.HOST ?? '0.0.0.0';
const log = (msg: string) => console.log(`[sextant] ${msg}`);

async function ensureDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    log('using DATABASE_URL');
    return { url: process.env.DATABASE_URL, stop: async () => {} };
  }
  const dataDir = path.join(STATE_DIR, 'pg');
  log(`starting embedded PostgreSQL (data in ${path.relative(process.cwd(), dataDir) || dataDir})`);
  fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  const pgh = await startEmbeddedPostgres({ dataDir, port: Number(process.env.SEXTANT_PG_PORT ?? 54320) });
  const admin = new pg.Client({ connectionString: pgh.url });
  await admin.connect();
  const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'sextant'`);
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE sextant');
  await admin.end();
  return { url: databaseUrl(pgh.url, 'sextant'), stop: pgh.stop };
}

function run(cmd: string, args: string[], env: Record<string, string>, cwd = REPO_ROOT): ChildProcess {
  return spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
}

async function runToEnd(cmd: string, args: string[], env: Record<string, string>, cwd = REPO_ROOT): Promise<void> {
  const child = run(cmd, args, env, cwd);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}`);
}

async function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) throw new Error(`Node.js 20 or newer is required (found ${process.versions.node})`);
  const database = await ensureDatabase();
  const children: ChildProcess[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await database.stop().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  // Never leave a server or a collector (with its BPF programs) behind.
  process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));

  log('applying migrations');
  await migrateDatabase(database.url, { quiet: true });
  const db = connect(database.url, { poolSize: 2 });
  await ensureFirstAdmin(db.prisma, STATE_DIR, log);
  const webEnv = { DATABASE_URL: database.url, NEXT_TELEMETRY_DISABLED: '1', PORT: String(PORT) };
  const webDir = path.join(REPO_ROOT, 'apps', 'web');
  if (webBuildIsStale(webDir)) {
    log('building the web app (first start or sources changed; takes a minute or two)');
    await runToEnd(process.execPath, [NEXT_BIN, 'build'], webEnv, webDir);
  }
  // Children are started as direct node processes (not through npx) so that signals reach them.
  const web = run(process.execPath, [NEXT_BIN, 'start', '-p', String(PORT), '-H', HOST], webEnv, webDir);
  children.push(web);
  web.on('exit', (code) => {
    if (!stopping) log(`the web server exited (${code}); is port ${PORT} already in use? Set PORT to another port.`);
    void shutdown(code ?? 1);
  });
  await waitForHealth(`http://127.0.0.1:${PORT}/api/health`);
  log(`Sextant is up: http://localhost:${PORT}  (listening on ${HOST}:${PORT}; health: /api/health, API: /api/trpc)`);

  const collectorEntry = path.join(REPO_ROOT, 'apps', 'collector', 'src', 'index.ts');
  if (process.env.SEXTANT_LOCAL_COLLECTOR === '0') {
    log('local collector disabled (SEXTANT_LOCAL_COLLECTOR=0)');
  } else if (!fs.existsSync(collectorEntry)) {
    log('no collector in this checkout (apps/collector/src/index.ts missing); connect one from another host');
  } else {
    await ensureCollectorBuilt();
    const token = await ensureLocalCollectorToken(db.prisma, STATE_DIR, `local-${os.hostname()}`);
    const launch = collectorLaunch();
    const collector = run(process.execPath, [...launch.flags, COLLECTOR_BIN, '--server', `http://127.0.0.1:${PORT}`], {
      ...launch.env,
      SEXTANT_TOKEN: token,
      SEXTANT_SPOOL_DIR: process.env.SEXTANT_SPOOL_DIR ?? path.join(STATE_DIR, 'spool'),
      // Sextant's own processes (this one's descendants: web server, embedded PostgreSQL, collector) and
      // ports (web, PostgreSQL when on this host): their traffic is hidden in the UI unless asked for.
      SEXTANT_SELF_PIDS: String(process.pid),
      SEXTANT_SELF_PORTS: [PORT, localDatabasePort(database.url)].filter((p) => p !== null).join(','),
    });
    children.push(collector);
    collector.on('exit', (code) => {
      if (!stopping) log(`local collector exited (${code}); the UI keeps running. See the collector's message above.`);
    });
  }
  await db.close();
}

/**
 * The eBPF addon is built by `npm ci` (packages/bpf install step). When that build could not happen (the
 * toolchain was missing then, e.g. installed by hand since), build it once now: it takes ~20 s and turns
 * "eBPF is not available" into a working collector without a manual `npm rebuild`.
 */
async function ensureCollectorBuilt(): Promise<void> {
  const bpfDir = path.join(REPO_ROOT, 'packages', 'bpf');
  const addon = path.join(bpfDir, 'build', 'Release', 'sextant_bpf.node');
  const object = path.join(bpfDir, 'build', 'bpf', 'sextant.bpf.o');
  if (fs.existsSync(addon) && fs.existsSync(object) && !fs.existsSync(path.join(bpfDir, 'build', 'UNAVAILABLE'))) return;
  log('the eBPF collector is not built yet: building it now');
  await runToEnd(process.execPath, [path.join(bpfDir, 'scripts', 'build.mjs')], {}, bpfDir).catch((e: Error) =>
    log(`could not build it: ${e.message}`),
  );
}

/** The database's port when it runs on this host (embedded, or a local DATABASE_URL), else null. */
function localDatabasePort(url: string): number | null {
  try {
    const u = new URL(url);
    return ['localhost', '127.0.0.1', '::1', '[::1]'].includes(u.hostname) ? Number(u.port || 5432) : null;
  } catch {
    return null;
  }
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the web server did not become healthy at ${url} within 120 s`);
}

main().catch((err: unknown) => {
  console.error(`[sextant] failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
