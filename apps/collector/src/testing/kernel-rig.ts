/**
 * Usage (one rig per kernel test file; it registers its own beforeAll/afterAll):
 *   const rig = kernelRig('my-kernel-test');                  // PostgreSQL database + API server + collector token
 *   describe.skipIf(rig.skip)('…', () => { it('…', async () => {
 *     const port = Number(await firstLine(rig.node(SERVER_JS)));  // peers: own processes, killed at the end
 *     const c = await rig.startCollector({ rules: [{ service: 'web', match: { port } }] });
 *     …drive traffic…; await rig.waitCount(SQL, [port], n); await settle(); await c.stop(); expect(await rig.rows(…)) }); });
 *
 * The setup every collector kernel test shares: the real kernel (skipped with a reason when eBPF is unavailable;
 * a failure in CI), a fresh embedded-PostgreSQL database, the standalone API server on loopback, a collector
 * token, collectors configured to ship to it quickly, peers as processes of their own (the collector does not
 * observe its own process), and the queries the tests assert with. Everything started is stopped in afterAll.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { preflight } from '@sextant/bpf';
import { createCollectorToken } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { missingPrerequisite } from '@sextant/shared/testing';
import { COLLECTOR_BIN, collectorLaunch } from '../../scripts/node-flags.mjs';
import { afterAll, beforeAll } from 'vitest';
import type { z } from 'zod';
import { Collector } from '../collector';
import { CollectorConfig } from '../env';
import { waitFor } from './wait-for';

export const run = promisify(execFile);

/** Whether a program is on the PATH (nginx, wrk, dig …). */
export const has = (bin: string): Promise<boolean> =>
  run('sh', ['-c', `command -v ${bin}`]).then(
    () => true,
    () => false,
  );

/** Waits `ms` so that anything still on its way reaches the store (a record that should not exist, too). */
export const settle = (ms = 1_000): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The first line a child prints (a server's port). */
export function firstLine(child: ChildProcess): Promise<string> {
  let buf = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before printing`)));
  });
}

/** Everything a child prints, once it exited with 0. */
export async function output(child: ChildProcess): Promise<string> {
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => (buf += d.toString()));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`child exited with ${code}: ${buf}`);
  return buf;
}

/** A collector's settings: service rules (written to a rules file) and any CollectorConfig field. */
export type RigCollectorOptions = { rules?: unknown[] } & Partial<z.input<typeof CollectorConfig>>;

export interface KernelRig {
  /** True when eBPF is unavailable here (the tests are skipped; in CI this threw instead). */
  readonly skip: boolean;
  readonly db: TestDatabase;
  readonly api: StandaloneServer;
  readonly token: string;
  /** A temporary directory for this file, removed in afterAll. */
  readonly tmp: string;
  /** A fresh path under tmp (files and directories a test creates). */
  file(prefix: string): string;
  /** A collector config: ships every 200 ms, health and kernel histograms every 1 s, its own spool; options win. */
  config(options?: RigCollectorOptions): CollectorConfig;
  /** A started in-process collector (stopped in afterAll if a test left it running). */
  startCollector(options?: RigCollectorOptions): Promise<Collector>;
  /** The collector as its own process (bin/sextant-collector.mjs) with SEXTANT_* env; resolves once it observes. */
  collectorProcess(env?: Record<string, string>): Promise<ChildProcess>;
  /** `node -e script …args` as a process of its own, modules resolved from apps/collector. */
  node(script: string, args?: string[]): ChildProcess;
  /** Any program as a process of its own, killed in afterAll. */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** nginx on 127.0.0.1:port (a random port) with these `server { … }` directives; resolves once it answers. */
  nginx(
    server: string,
    options?: { workers?: number; connections?: number; errorLog?: string },
  ): Promise<{ port: number; process: ChildProcess }>;
  /** Runs `fn` in afterAll (peers with a close()). */
  onClose(fn: () => unknown): void;
  rows(sql: string, params?: unknown[]): Promise<any[]>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rows of ad-hoc SQL
  /** The column `n` of the first row, as a number. */
  count(sql: string, params?: unknown[]): Promise<number>;
  /** Polls `count(sql)` until it reaches `n` or `ms` pass; returns the last count (the caller asserts). */
  waitCount(sql: string, params: unknown[], n: number, ms?: number): Promise<number>;
}

const collectorDir = path.resolve(__dirname, '..', '..');

/** Registers the rig's beforeAll/afterAll in the calling test file; `name` labels its token, node and temp dir. */
export function kernelRig(name: string): KernelRig {
  const pf = preflight();
  const skip = missingPrerequisite(pf.ok, `${name}: eBPF unavailable (${pf.ok ? '' : pf.reason})`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `sextant-${name}-`));
  let db: TestDatabase | undefined;
  let api: StandaloneServer | undefined;
  let token: string | undefined;
  const children: ChildProcess[] = [];
  const collectors: Collector[] = [];
  const closers: (() => unknown)[] = [];
  let seq = 0;
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`kernel rig: ${what} is not started (use it inside a test)`);
    return v;
  };

  beforeAll(async () => {
    if (skip) return;
    db = await createTestDatabase(testServerUrl());
    api = await startStandaloneServer({ db, version: 'test' });
    token = (await createCollectorToken(db.prisma, name)).token;
  });

  afterAll(async () => {
    // A collector a failed test left running: its probes are still open (counters() reads them).
    for (const c of collectors) if (c.counters() !== null) await c.stop();
    for (const fn of closers) await fn();
    const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of alive) c.kill('SIGKILL');
    await Promise.all(alive.map((c) => new Promise((r) => (c.exitCode === null && c.signalCode === null ? c.on('exit', r) : r(null)))));
    await api?.close();
    await db?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const rig: KernelRig = {
    skip,
    get db() {
      return ready(db, 'the database');
    },
    get api() {
      return ready(api, 'the API server');
    },
    get token() {
      return ready(token, 'the token');
    },
    tmp,
    file: (prefix) => path.join(tmp, `${prefix}-${++seq}`),
    config({ rules, ...extra } = {}) {
      let rulesFile: string | undefined;
      if (rules) {
        rulesFile = rig.file('rules') + '.json';
        fs.writeFileSync(rulesFile, JSON.stringify(rules));
      }
      return CollectorConfig.parse({
        server: rig.api.url,
        token: rig.token,
        nodeName: `${name}-node`,
        spoolDir: rig.file('spool'),
        rulesFile,
        flushIntervalMs: 200,
        histogramIntervalMs: 1_000,
        healthIntervalMs: 1_000,
        // in this process the heap is the test runner's and the server's too: the bound would shed by theirs
        l7MaxHeapMb: 0,
        ...extra,
      });
    },
    async startCollector(options) {
      const c = new Collector(rig.config(options), () => {});
      collectors.push(c);
      await c.start();
      return c;
    },
    async collectorProcess(env = {}) {
      const launch = collectorLaunch();
      const child = rig.spawn(process.execPath, [...launch.flags, COLLECTOR_BIN], {
        env: {
          ...process.env,
          ...launch.env,
          SEXTANT_SERVER: rig.api.url,
          SEXTANT_TOKEN: rig.token,
          SEXTANT_SPOOL_DIR: rig.file('spool'),
          SEXTANT_FLUSH_INTERVAL_MS: '200',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => d.toString().includes('observing') && resolve());
        child.once('exit', (code) => reject(new Error(`collector exited (${code}) before observing`)));
      });
      return child;
    },
    node: (script, args = []) =>
      rig.spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: collectorDir }),
    spawn(command, args, options = {}) {
      const child = spawn(command, args, options);
      children.push(child);
      return child;
    },
    async nginx(server, { workers = 1, connections = 256, errorLog = 'warn' } = {}) {
      const dir = rig.file('nginx');
      fs.mkdirSync(dir);
      const port = 19000 + Math.floor(Math.random() * 3000);
      fs.writeFileSync(
        path.join(dir, 'nginx.conf'),
        `worker_processes ${workers}; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log ${errorLog};
events { worker_connections ${connections}; }
http { access_log off; client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server { listen 127.0.0.1:${port}; ${server} } }`,
      );
      const nginx = rig.spawn('nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
      // SIGTERM: the master stops its workers before it exits (the SIGKILL at the end would orphan them)
      rig.onClose(async () => {
        if (nginx.exitCode !== null || nginx.signalCode !== null) return;
        const exited = new Promise((r) => nginx.once('exit', r));
        nginx.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      });
      const up = await waitFor(
        () =>
          run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]).then(
            () => true,
            () => false,
          ),
        (ok) => ok,
        10_000,
      );
      if (!up) throw new Error(`nginx did not answer on port ${port}`);
      return { port, process: nginx };
    },
    onClose: (fn) => void closers.push(fn),
    rows: async (sql, params = []) => (await rig.db.pool.query(sql, params)).rows,
    count: async (sql, params = []) => Number((await rig.db.pool.query(sql, params)).rows[0].n),
    waitCount: (sql, params, n, ms) =>
      waitFor(
        () => rig.count(sql, params),
        (x) => x >= n,
        ms,
      ),
  };
  return rig;
}
