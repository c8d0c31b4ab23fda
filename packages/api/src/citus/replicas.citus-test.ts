/**
 * Citus only (npm run test:citus): two server processes (replica-server.ts, the standalone API on two ports)
 * against one distributed database, as behind a load balancer. Two collectors push generated batches through
 * the real ingest path to both replicas at once; a live tail on each replica must deliver every record stored
 * through either one exactly once (exact ids); each replica's /api/metrics counts the batches and rows it
 * stored and the two add up to what the database holds; a retry that lands on the other replica is stored
 * once and counted by neither; and the maintenance loop running on both rebuilds each closed hour once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createCollectorToken, createUser, login } from '@sextant/db';
import { createTestDatabase, generateTraffic, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { encodeBatch, type IngestBatchInput } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trpcClient } from '../testing/api-harness';
import { subscribeTail, type TailReader, until } from './tail-reader';

interface Replica {
  url: string;
  proc: ChildProcess;
  reports: { skipped: boolean; hoursRolledUp: number; blocksRolledUp: number }[];
  errors: string[];
}

const HOUR = 3_600_000;
const now = Date.now();
let db: TestDatabase;
let replicas: Replica[] = [];
let userToken: string;
let tails: TailReader[] = [];
const collectors: string[] = [];

async function startReplica(url: string): Promise<Replica> {
  const proc = fork(path.join(import.meta.dirname, 'replica-server.ts'), {
    env: { ...process.env, DATABASE_URL: url },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const r: Replica = { url: '', proc, reports: [], errors: [] };
  r.url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`replica exited with ${code}`)));
    proc.on('message', (m: { url?: string; report?: Replica['reports'][number]; error?: string }) => {
      if (m.url) resolve(m.url);
      if (m.report) r.reports.push(m.report);
      if (m.error) r.errors.push(m.error);
    });
  });
  return r;
}

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  for (const name of ['host-a', 'host-b']) collectors.push((await createCollectorToken(db.prisma, name)).token);
  await createUser(db.prisma, 'replicas@example.com', 'correct horse battery staple', 'viewer');
  userToken = (await login(db.prisma, 'replicas@example.com', 'correct horse battery staple'))?.token ?? '';
  replicas = await Promise.all([startReplica(db.url), startReplica(db.url)]);
});
afterAll(async () => {
  for (const t of tails) t.stop();
  for (const r of replicas) {
    const exited = new Promise((resolve) => r.proc.once('exit', resolve));
    r.proc.kill('SIGTERM');
    await exited;
  }
  await db?.close();
});

/** Sums every series of a counter in a Prometheus text exposition, optionally only those with `label`. */
function counter(text: string, name: string, label = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (label && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const count = async (sql: string) => Number((await db.pool.query(sql)).rows[0].n);

describe('two server replicas on one Citus database', () => {
  it('tails on either replica see every record, metrics add up, retries across replicas store once, maintenance runs once', async () => {
    // Resuming from the last event id when a stream ends, as the UI's link does (a resume must not lose or repeat).
    tails = replicas.map((r) => subscribeTail(r.url, userToken, {}, { reconnect: true }));
    // A marker batch through replica 1 tells when both tails are live (their start is read after the subscribe).
    const marker = generateTraffic({ seed: 7, connections: 1, start: now - 60_000, end: now, services: 2, l7Share: 0 });
    const markerBatch = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: marker.flows, l7: [] });
    expect((await trpcClient(replicas[0]!.url, collectors[0]).ingest.push.mutate(markerBatch)).stored).toBe(true);
    await until(() => tails.every((t) => t.records.length >= 1), 30_000);
    for (const t of tails) expect(t.records).toEqual([marker.flows[0]!.id]);
    const sentTo: { b: IngestBatchInput; c: number }[][] = [[{ b: markerBatch, c: 0 }], []];

    // Each collector's batches: stretches a few hours old (closed hours for the maintenance step) and recent traffic.
    const ids = new Set<string>();
    const batches: IngestBatchInput[][] = collectors.map((_, c) =>
      Array.from({ length: 6 }, (_, i) => {
        const start = i % 2 ? now - (5 - (i - 1) / 2) * HOUR : now - 15 * 60_000;
        const t = generateTraffic({ seed: 100 * c + i, connections: 120, start, end: start + 10 * 60_000, services: 10 });
        for (const r of [...t.flows, ...t.l7]) ids.add(r.id);
        return encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7 });
      }),
    );
    // Both collectors at once, alternating replicas (collector b starts on the other one).
    await Promise.all(
      batches.map(async (list, c) => {
        for (const [i, b] of list.entries()) {
          const r = (i + c) % 2;
          expect((await trpcClient(replicas[r]!.url, collectors[c]).ingest.push.mutate(b)).stored).toBe(true);
          sentTo[r]!.push({ b, c });
        }
      }),
    );
    const expected = ids.size + 1;
    expect(ids.size).toBe(batches.flat().reduce((a, b) => a + (b.flows?.length ?? 0) + (b.l7?.length ?? 0), 0));
    await until(() => tails.every((t) => t.records.length >= expected), 30_000);
    // A little longer: a duplicate would show up within the next polls.
    await new Promise((r) => setTimeout(r, 1500));
    for (const t of tails) {
      t.stop();
      if (t.reconnects.length) console.log(`[replicas] a tail resumed after: ${t.reconnects.join('; ')}`);
      expect(t.records.length).toBe(expected);
      expect(new Set(t.records.slice(1))).toEqual(ids);
    }

    // A retry of every batch on the other replica (the answer was lost): stored once, counted by neither.
    for (const [r, list] of sentTo.entries())
      for (const { b, c } of list) expect((await trpcClient(replicas[1 - r]!.url, collectors[c]).ingest.push.mutate(b)).stored).toBe(false);

    const metrics = await Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/api/metrics`)).text()));
    for (const [r, text] of metrics.entries()) {
      expect(counter(text, 'sextant_ingest_batches_total')).toBe(sentTo[r]!.length);
      expect(counter(text, 'sextant_ingest_rows_total', 'kind="flows"')).toBe(
        sentTo[r]!.reduce((a, { b }) => a + (b.flows?.length ?? 0), 0),
      );
      expect(counter(text, 'sextant_ingest_rows_total', 'kind="l7"')).toBe(sentTo[r]!.reduce((a, { b }) => a + (b.l7?.length ?? 0), 0));
    }
    const sum = (name: string, label?: string) => metrics.reduce((a, t) => a + counter(t, name, label), 0);
    expect(sum('sextant_ingest_batches_total')).toBe(await count('SELECT count(*) AS n FROM ingest_receipts'));
    expect(sum('sextant_ingest_rows_total', 'kind="flows"')).toBe(await count('SELECT count(*) AS n FROM flows'));
    expect(sum('sextant_ingest_rows_total', 'kind="l7"')).toBe(await count('SELECT count(*) AS n FROM l7_events'));

    // Maintenance on both replicas: every closed dirty hour rebuilt once between them, no run failed.
    const dirty = await count(`SELECT count(*) AS n FROM rollup_dirty_hours WHERE hour < date_trunc('hour', now())`);
    expect(dirty).toBeGreaterThanOrEqual(3);
    for (const r of replicas) r.proc.send('maintain');
    await until(() => replicas.every((r) => r.reports.length >= 3), 30_000);
    expect(replicas.flatMap((r) => r.errors)).toEqual([]);
    const reports = replicas.flatMap((r) => r.reports);
    expect(reports.reduce((a, r) => a + r.hoursRolledUp, 0)).toBe(dirty);
    expect(await count(`SELECT count(*) AS n FROM rollup_dirty_hours WHERE hour < date_trunc('hour', now())`)).toBe(0);
    const hours = await count(`SELECT count(DISTINCT bucket) AS n FROM edge_hour`);
    expect(hours).toBe(dirty);
  });
});
