/**
 * bench:ingest — realistic flows + L7 events through the real tRPC ingest path (separate server process,
 * several concurrent senders), and in the same run raw COPY of the same rows into a scratch database with
 * the same schema (same indexes, same partitions), with the same concurrency. Prints rows/s and the ratio, for
 * the same flows and L7 events sent in wire schema v1 (objects), v2 (flow rows + endpoint table) and v3 (L7 endpoints as refs too).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, copyBatch, createCollectorToken, ensurePartitions, dayOf, PARTITIONED_TABLES } from '@sextant/db';
import { generateTraffic } from '@sextant/db/testing';
import { encodeBatch, encodeRecords, Flow, L7Event, type IngestBatch, type IngestBatchInput } from '@sextant/shared';
import { trpcClient } from '../src/testing/api-harness';
import { fmt, startBenchPostgres, type BenchPostgres } from './bench-db';
import {
  BENCH_CITUS,
  BENCH_CITUS_SHARDS,
  commitCost,
  printStatements,
  resetStatements,
  startCitusBenchPostgres,
  type CitusBenchPostgres,
} from './bench-citus';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 60);
const CONNECTIONS_PER_BATCH = Number(process.env.BENCH_BATCH_FLOWS ?? 2000);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 4);

const now = Date.now();
console.log(`bench:ingest — ${BATCHES} batches of ${CONNECTIONS_PER_BATCH} flows (+ their HTTP events), ${SENDERS} concurrent senders`);
const batches: IngestBatchInput[] = [];
const records: IngestBatch[] = [];
// Like a collector: each batch holds a few seconds of traffic (batches are flushed by size or time).
for (let i = 0; i < BATCHES; i++) {
  const start = now - 10 * 60_000 + i * 5_000;
  const t = generateTraffic({
    seed: 1000 + i,
    connections: CONNECTIONS_PER_BATCH,
    start,
    end: start + 5_000,
    services: 500,
    namespaces: 20,
    requestsPerConnection: 1,
    l7Share: 0.7,
  });
  const batchId = crypto.randomUUID();
  batches.push(encodeBatch({ batchId, sentAt: now, flows: t.flows, l7: t.l7 }));
  records.push(encodeRecords({ batchId, sentAt: now, flows: t.flows.map((f) => Flow.parse(f)), l7: t.l7.map((e) => L7Event.parse(e)) }));
}
const rowsPerRun = batches.reduce((a, b) => a + (b.flows?.length ?? 0) + (b.l7?.length ?? 0), 0);
console.log(`rows per run: ${fmt(rowsPerRun)}`);

async function inParallel<T>(items: T[], workers: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

// BENCH_BASELINE=<another checkout of this repository, with node_modules>: its ingest server takes the same
// batches in the same run, alternating with this one's, each round after its own raw COPY (a shared, loaded
// machine moves by more between runs than a change does).
const BASELINE = process.env.BENCH_BASELINE;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (BASELINE ? 2 : 1));
const here = path.dirname(fileURLToPath(import.meta.url));
const servers = [{ label: 'tRPC ingest', script: path.join(here, 'ingest-server.ts'), cwd: undefined as string | undefined }];
if (BASELINE)
  servers.push({ label: 'baseline tRPC ingest', script: path.join(BASELINE, 'packages/api/bench/ingest-server.ts'), cwd: BASELINE });

/** Every round on one database server; the last round's rows/s (raw COPY, then each server's end to end). */
async function runOn(pgh: BenchPostgres, citus?: CitusBenchPostgres): Promise<{ raw: number; e2e: number }> {
  let last = { raw: 0, e2e: 0 };
  // Raw COPY: same rows, same schema, same concurrency, no HTTP, no validation, no rollups.
  async function rawCopy(name: string): Promise<number> {
    const scratch = connect(await pgh.createDatabase(name), { poolSize: SENDERS + 2 });
    await ensurePartitions(scratch.pool, PARTITIONED_TABLES, [dayOf(now - 10 * 60_000), dayOf(now)]);
    const ctx = { collectorId: crypto.randomUUID(), batchId: crypto.randomUUID() };
    const t0 = performance.now();
    await inParallel(records, SENDERS, async (b) => {
      const client = await scratch.pool.connect();
      try {
        await client.query('BEGIN');
        await copyBatch(client, b, ctx);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    const seconds = (performance.now() - t0) / 1000;
    await scratch.close();
    return seconds;
  }

  // End to end: collectors → tRPC (HTTP, JSON, zod) → COPY + rollups + receipts, in one transaction per batch.
  async function endToEnd(
    name: string,
    sent: IngestBatchInput[],
    script: string,
    cwd?: string,
  ): Promise<{ seconds: number; cpuSeconds: number }> {
    const url = await pgh.createDatabase(name);
    const db = connect(url, { poolSize: 2 });
    const { token } = await createCollectorToken(db.prisma, 'bench');
    await ensurePartitions(db.pool, PARTITIONED_TABLES, [dayOf(now - 10 * 60_000), dayOf(now)]);
    if (citus) await resetStatements(citus.nodeUrls(name));
    const server = fork(script, {
      cwd,
      env: { ...process.env, DATABASE_URL: url },
      execArgv: [
        '--import',
        'tsx',
        '--max-semi-space-size=64',
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/cpuprof'] : []),
      ],
    });
    const serverUrl = await new Promise<string>((resolve) => server.on('message', (m: { url: string }) => resolve(m.url)));
    const client = trpcClient(serverUrl, token);
    const t1 = performance.now();
    await inParallel(sent, SENDERS, async (b) => {
      const res = await client.ingest.push.mutate(b);
      if (!res.stored) throw new Error('batch not stored');
    });
    const seconds = (performance.now() - t1) / 1000;
    const cpuSeconds = await new Promise<number>((resolve) => {
      server.once('message', (m: { cpuSeconds: number }) => resolve(m.cpuSeconds));
      server.send('cpu');
    });
    server.kill('SIGTERM');
    if (citus) await printStatements(citus.nodeUrls(name));
    const stored = Number((await db.pool.query('SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM l7_events) AS n')).rows[0].n);
    await db.close();
    if (stored !== rowsPerRun) throw new Error(`${name}: stored ${stored} rows, expected ${rowsPerRun}`);
    return { seconds, cpuSeconds };
  }
  const bytes = batches.reduce((a, b) => a + Buffer.byteLength(JSON.stringify(b)), 0);
  console.log(`${fmt(bytes / 1e6, 1)} MB of JSON per run`);
  for (let round = 1; round <= ROUNDS; round++) {
    const rawSeconds = await rawCopy(`bench_scratch_${round}`);
    const raw = rowsPerRun / rawSeconds;
    console.log(`round ${round}: raw COPY (scratch db)  ${fmt(raw)} rows/s  (${fmt(rawSeconds, 2)} s)`);
    // alternate which server goes first
    for (const [i, s] of (round % 2 ? servers : [...servers].reverse()).entries()) {
      const r = await endToEnd(`bench_ingest_${round}_${i}`, batches, s.script, s.cwd);
      const e2e = rowsPerRun / r.seconds;
      console.log(
        `  ${s.label.padEnd(22)} ${fmt(e2e)} rows/s  (${fmt(r.seconds, 2)} s, incl. rollups + receipts), ratio to raw COPY ${fmt(e2e / raw, 2)} (target >= 0.60)`,
      );
      console.log(
        `    server process CPU  ${fmt(r.cpuSeconds, 2)} s (${fmt((r.cpuSeconds / r.seconds) * 100)} % of one core during the run, incl. startup)`,
      );
      if (i === 0) last = { raw, e2e };
    }
  }
  return last;
}

const pgh = await startBenchPostgres();
let single: { raw: number; e2e: number };
try {
  if (BENCH_CITUS) console.log('\n— single node (embedded PostgreSQL) —');
  single = await runOn(pgh);
} finally {
  await pgh.stop();
}
// BENCH_CITUS=1: the same batches on a Citus coordinator + 2 workers on this machine, then both side by side.
if (BENCH_CITUS) {
  console.log(`\n— Citus: coordinator + 2 workers on loopback, ${BENCH_CITUS_SHARDS} shards per table —`);
  const cluster = await startCitusBenchPostgres();
  try {
    const onCitus = await runOn(cluster, cluster);
    const cc = await commitCost(await cluster.createDatabase('bench_commit'));
    console.log(
      `\nCOMMIT round trip (median of 200, two rows each): coordinator table ${fmt(cc.localMs, 2)} ms, one shard ${fmt(cc.oneShardMs, 2)} ms, two workers (2PC) ${fmt(cc.twoWorkersMs, 2)} ms`,
    );
    console.log('\n                      single node    Citus (1 + 2 nodes, one box)   Citus / single');
    for (const [label, a, b] of [
      ['raw COPY rows/s', single.raw, onCitus.raw],
      ['tRPC ingest rows/s', single.e2e, onCitus.e2e],
    ] as const)
      console.log(`  ${label.padEnd(20)} ${fmt(a).padStart(11)}    ${fmt(b).padStart(11)}                    ${fmt(b / a, 2)}`);
  } finally {
    await cluster.stop();
  }
}
