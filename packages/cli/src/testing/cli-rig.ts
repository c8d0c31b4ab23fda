/**
 * The setup of the `sextant` command tests: a real PostgreSQL database, the real API server on 127.0.0.1, an
 * admin and a viewer with API tokens, and node-a's known traffic (cli-fixtures.ts) ingested through a collector
 * token. `sextant(args)` runs the command as a user does: a child process (`node packages/cli/bin/sextant.mjs`).
 * Call cliRig() once per test file; it registers its own beforeAll/afterAll.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { createApiToken, createCollectorToken, createUser } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { encodeBatch } from '@sextant/shared';
import { afterAll, beforeAll } from 'vitest';
import { apiClient } from '../client';
import { EVENTS, FLOWS, id } from './cli-fixtures';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BIN = path.resolve(HERE, '../../bin/sextant.mjs');
export const CAPTURE = path.resolve(HERE, '../../test-fixtures/hubble-capture.jsonl');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

export interface CliRig {
  readonly db: TestDatabase;
  readonly server: StandaloneServer;
  readonly adminToken: string;
  readonly viewerToken: string;
  readonly collectorToken: string;
  /** A temporary directory, removed in afterAll. */
  readonly tmp: string;
  /** Runs `sextant …args` (admin token unless `token` says otherwise; null: none) and collects its output. */
  sextant(args: string[], opts?: { token?: string | null; stdin?: string; server?: string }): Promise<Run>;
  /** The column `n` of the first row, as a number. */
  count(sql: string, params?: unknown[]): Promise<number>;
}

export function cliRig(): CliRig {
  let state: Omit<CliRig, 'sextant' | 'count'> | undefined;
  const get = () => {
    if (!state) throw new Error('cli rig: not started (use it inside a test)');
    return state;
  };

  beforeAll(async () => {
    const db = await createTestDatabase(testServerUrl());
    const server = await startStandaloneServer({ db, version: '0.1.0' });
    const admin = await createUser(db.prisma, 'admin@example.com', 'correct horse battery staple', 'admin');
    const viewer = await createUser(db.prisma, 'viewer@example.com', 'viewer password', 'viewer');
    const adminToken = (await createApiToken(db.prisma, admin.id, 'cli-tests')).token;
    const viewerToken = (await createApiToken(db.prisma, viewer.id, 'viewer-cli')).token;
    const collectorToken = (await createCollectorToken(db.prisma, 'node-a')).token;
    const collector = apiClient({ server: server.url, token: collectorToken });
    const health = { time: Date.now(), version: '0.1.0', kernel: '6.1.0', hostname: 'host-a', eventsPerSecond: 12.5, lostEvents: 7 };
    await collector.ingest.push.mutate(encodeBatch({ batchId: id(), sentAt: Date.now(), flows: FLOWS, l7: EVENTS, health }));
    const tmp = await mkdtemp(path.join(tmpdir(), 'sextant-cli-'));
    state = { db, server, adminToken, viewerToken, collectorToken, tmp };
  });

  afterAll(async () => {
    await state?.server.close();
    await state?.db.close();
    if (state) await rm(state.tmp, { recursive: true, force: true });
  });

  return {
    get db() {
      return get().db;
    },
    get server() {
      return get().server;
    },
    get adminToken() {
      return get().adminToken;
    },
    get viewerToken() {
      return get().viewerToken;
    },
    get collectorToken() {
      return get().collectorToken;
    },
    get tmp() {
      return get().tmp;
    },
    sextant(args, opts = {}) {
      return new Promise((resolve, reject) => {
        const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', SEXTANT_SERVER: opts.server ?? get().server.url };
        const token = opts.token === undefined ? get().adminToken : opts.token;
        if (token) env.SEXTANT_TOKEN = token;
        else delete env.SEXTANT_TOKEN;
        const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr, lines: stdout.split('\n').filter(Boolean) });
        });
        child.stdin.end(opts.stdin ?? '');
      });
    },
    count: async (sql, params = []) => Number((await get().db.pool.query(sql, params)).rows[0].n),
  };
}

/** A loopback port nothing listens on (just closed). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
