/**
 * The real stack for browser tests: PostgreSQL (embedded or DATABASE_URL) with migrations, the production
 * Next.js build served by `next start`, a real collector process observing real curl traffic, and Debian's
 * Chromium driven by playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCollectorToken, createUser, databaseUrl, freePort, migrateDatabase, serverForTests, connect, type Db } from '@sextant/db';
import { missingPrerequisite } from '@sextant/shared/testing';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(ROOT, 'e2e', 'test-results');

/** Debian's Chromium, which every browser test drives. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether a browser test can run here (else it is skipped with the reason printed; in CI that throws). */
export const browserTestsCanRun = (): boolean => !missingPrerequisite(fs.existsSync(CHROMIUM), 'e2e needs /usr/bin/chromium');

/** Whether a browser test with a real collector (eBPF) can run here: Chromium, root and BTF. */
export const collectorTestsCanRun = (): boolean =>
  !missingPrerequisite(
    fs.existsSync(CHROMIUM) && process.getuid?.() === 0 && fs.existsSync('/sys/kernel/btf/vmlinux'),
    'e2e needs /usr/bin/chromium, root and BTF (eBPF) for the real collector',
  );

export interface Stack {
  url: string;
  db: Db;
  collectorToken: string;
  stop(): Promise<void>;
}

/**
 * A production build has no test-only route and ships no test hooks: no /bench page (it exists only in the
 * build bench:ui makes with SEXTANT_UI_BENCH=1) and no `__sextant…` window globals or generated bench data in
 * the browser bundles. Throws, failing the suite, otherwise; returns the app routes.
 */
export function assertProductionBuild(distDir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(distDir, 'app-path-routes-manifest.json'), 'utf8')) as Record<string, string>;
  const routes = Object.values(manifest);
  const bench = routes.filter((r) => r.startsWith('/bench'));
  if (bench.length)
    throw new Error(
      `production build has test-only routes ${bench.join(', ')} (${distDir} is a bench build? rebuild without SEXTANT_UI_BENCH)`,
    );
  const chunks = path.join(distDir, 'static');
  for (const file of fs.readdirSync(chunks, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.js')) continue;
    const js = fs.readFileSync(path.join(chunks, file), 'utf8');
    for (const marker of ['__sextant', 'generated rows']) {
      if (js.includes(marker)) throw new Error(`production bundle ${file} contains test code (${JSON.stringify(marker)})`);
    }
  }
  return routes;
}

async function waitFor(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts the stack on a fresh database. `serverUrl`: the PostgreSQL server of the test run (vitest's globalSetup,
 * packages/db/vitest.global-setup.ts, with its migrated template), on which the database is a clone of that
 * template, dropped by stop(); without it (bench:ui), a PostgreSQL of its own, migrated here and stopped by stop().
 */
export async function startStack(serverUrl?: string): Promise<Stack> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let db: Db;
  let dbUrl: string;
  let stopServer = async () => {};
  if (serverUrl) {
    // (imported here: @sextant/db/testing needs vitest's runner, which bench:ui does not run in)
    const { createTestDatabase } = await import('@sextant/db/testing');
    const test = await createTestDatabase(serverUrl);
    db = test;
    dbUrl = test.url;
  } else {
    const server = await serverForTests('sextant-e2e-');
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('DROP DATABASE IF EXISTS sextant_e2e WITH (FORCE)');
    await admin.query('CREATE DATABASE sextant_e2e');
    await admin.end();
    dbUrl = databaseUrl(server.url, 'sextant_e2e');
    await migrateDatabase(dbUrl, { quiet: true });
    db = connect(dbUrl, { poolSize: 4 });
    stopServer = server.stop;
  }
  await createUser(db.prisma, 'admin@example.com', 'admin password 1', 'admin');
  await createUser(db.prisma, 'viewer@example.com', 'viewer password 1', 'viewer');
  const { token } = await createCollectorToken(db.prisma, 'e2e-host');
  const webDir = path.join(ROOT, 'apps', 'web');
  const next = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next');
  const env = { ...process.env, DATABASE_URL: dbUrl, NEXT_TELEMETRY_DISABLED: '1' };
  // SEXTANT_E2E_REUSE_BUILD=1 serves an existing production build (iterating on tests only); a build made
  // during this run (by an earlier test file) is served again rather than rebuilt.
  const buildId = path.join(webDir, '.next', 'BUILD_ID');
  const builtThisRun = fs.existsSync(buildId) && fs.statSync(buildId).mtimeMs > Number(process.env.SEXTANT_E2E_RUN_STARTED ?? Infinity);
  const reuse = builtThisRun || (process.env.SEXTANT_E2E_REUSE_BUILD === '1' && fs.existsSync(buildId));
  if (!reuse) execFileSync(process.execPath, [next, 'build'], { cwd: webDir, env, stdio: 'pipe' });
  if (process.env.SEXTANT_UI_BENCH !== '1') assertProductionBuild(path.join(webDir, '.next'));
  const port = await freePort();
  const web: ChildProcess = spawn(process.execPath, [next, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: webDir,
    env,
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/health`)).ok, 60_000, 'the web server');
  return {
    url,
    db,
    collectorToken: token,
    async stop() {
      web.kill('SIGTERM');
      await db.close();
      await stopServer();
    },
  };
}

/** An account startStack seeds. */
export interface Account {
  email: string;
  password: string;
}
export const ADMIN: Account = { email: 'admin@example.com', password: 'admin password 1' };
export const VIEWER: Account = { email: 'viewer@example.com', password: 'viewer password 1' };

/** Fills and submits the sign-in form the page is on. */
export async function submitSignIn(page: Page, who: Account): Promise<void> {
  await page.getByLabel('email').fill(who.email);
  await page.getByLabel('password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A new page signed in as `who` from /login, on the map where sign-in lands. */
export async function signedInPage(
  browser: Browser,
  stack: Pick<Stack, 'url'>,
  who: Account,
  viewport = { width: 1400, height: 900 },
): Promise<Page> {
  const page = await browser.newPage({ viewport });
  await page.goto(`${stack.url}/login`);
  await submitSignIn(page, who);
  await page.waitForURL('**/map');
  return page;
}

/** Debian's Chromium, headless, with the flags every browser test runs it with. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** An endpoint in namespace `shop`, as the seeded batches name their services. */
export const shopEndpoint = (service: string, ip: string, port?: number) => ({ ip, service, namespace: 'shop', ...(port ? { port } : {}) });

/** Posts one batch (its JSON wire form) to the public ingest endpoint with the stack's collector token, as a collector does. */
export async function pushBatch(stack: Pick<Stack, 'url' | 'collectorToken'>, batch: unknown): Promise<void> {
  const res = await fetch(`${stack.url}/api/trpc/ingest.push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.collectorToken}` },
    body: JSON.stringify(batch),
  });
  if (res.status !== 200) throw new Error(`ingest.push answered ${res.status}: ${await res.text()}`);
}
