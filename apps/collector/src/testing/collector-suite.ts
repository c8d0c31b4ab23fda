/**
 * What the collector's whole-path tests share (collector.test.ts, collector-udp.test.ts): the real kernel (skipped
 * with a reason when eBPF is unavailable), a fresh database, the standalone API server on loopback, a collector
 * token, a real HTTP server in its own process (200 on /ok, 503 on /fail; named web-api by a rules file) and
 * collector configurations shipping to it quickly.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { preflight } from '@sextant/bpf';
import { createCollectorToken } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { missingPrerequisite } from '@sextant/shared/testing';
import { afterAll, beforeAll } from 'vitest';
import { CollectorConfig } from '../env';

export const run = promisify(execFile);
const pf = preflight();
export const noKernel = missingPrerequisite(pf.ok, `collector kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);

export let db: TestDatabase;
export let api: StandaloneServer;
export let token: string;
let web: ChildProcess;
export let webPort: number;
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-collector-'));

/** Registers the suite's setup and teardown (call once, at the top of a test file). */
export function useCollectorSuite(): void {
  beforeAll(async () => {
    if (noKernel) return;
    db = await createTestDatabase(testServerUrl());
    api = await startStandaloneServer({ db, version: 'test' });
    token = (await createCollectorToken(db.prisma, 'kernel-test')).token;
    // A real HTTP server in its own process: 200 on /ok, 503 on /fail.
    web = spawn(
      process.execPath,
      [
        '-e',
        `
    const http = require('http');
    const s = http.createServer((q, r) => { r.writeHead(q.url === '/fail' ? 503 : 200); r.end('body'); });
    s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    webPort = await new Promise<number>((resolve) => web.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  });

  afterAll(async () => {
    web?.kill();
    await api?.close();
    await db?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}

export function config(extra: Partial<CollectorConfig> = {}): CollectorConfig {
  fs.writeFileSync(path.join(tmp, 'rules.json'), JSON.stringify([{ service: 'web-api', namespace: 'shop', match: { port: webPort } }]));
  return CollectorConfig.parse({
    server: api.url,
    token,
    nodeName: 'kernel-test-node',
    spoolDir: path.join(tmp, 'spool'),
    rulesFile: path.join(tmp, 'rules.json'),
    flushIntervalMs: 200,
    histogramIntervalMs: 1_000,
    healthIntervalMs: 1_000,
    // in this process the heap is the test runner's and the server's too: the bound would shed by theirs
    l7MaxHeapMb: 0,
    ...extra,
  });
}

/** A node script in its own process (the collector does not observe its own process); lines of its stdout. */
export function spawnNode(script: string): { line: () => Promise<string>; kill: () => void } {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  return {
    line: () =>
      new Promise<string>((resolve, reject) => {
        const l = lines.shift();
        if (l !== undefined) return resolve(l);
        const timer = setTimeout(() => reject(new Error(`no output from: ${script.trim().slice(0, 80)}`)), 10_000);
        waiters.push((x) => {
          clearTimeout(timer);
          resolve(x);
        });
      }),
    kill: () => child.kill(),
  };
}

export const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

/** The API server stopped and started again on the same port (a server outage), with the same database. */
export async function restartApi(port: number, during: () => Promise<void>): Promise<void> {
  await api.close();
  await during();
  api = await startStandaloneServer({ db, version: 'test' }, { port });
}
