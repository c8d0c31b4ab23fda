/**
 * bench:query — loads BENCH_FLOWS (default 10 million) connection flows over 24 h, with HTTP events on 30 %
 * of them, ~500 services with Zipf-skewed traffic, plus their minute and hour rollups; then prints p50/p95 of
 * typical flow searches (first page of 100, newest first) and of the 24 h service map query, measured
 * through the same query functions the tRPC procedures call.
 */
import {
  connect,
  copyBatch,
  dayOf,
  ensurePartitions,
  foldEdges,
  markDirtyHours,
  MINUTE_MS,
  PARTITIONED_TABLES,
  rebuildDirtyBlocks,
  rebuildDirtyHours,
  searchFlows,
  serviceEndpoints,
  serviceMap,
  upsertEdges,
  upsertServices,
} from '@sextant/db';
import { generateTraffic, makeServices, mulberry32 } from '@sextant/db/testing';
import type { FlowQueryFilterInput } from '@sextant/shared';
import { encodeRecords, FlowQueryFilter } from '@sextant/shared';
import { fmt, percentile, startBenchPostgres, type BenchPostgres } from './bench-db';
import {
  BENCH_CITUS,
  BENCH_CITUS_SHARDS,
  databaseBytes,
  printStatements,
  resetStatements,
  startCitusBenchPostgres,
  type CitusBenchPostgres,
} from './bench-citus';

// BENCH_CITUS=1 (single node and cluster side by side on one box) defaults to a modest 1 M.
const TOTAL = Number(process.env.BENCH_FLOWS ?? (BENCH_CITUS ? 1_000_000 : 10_000_000));
const CHUNK = 100_000;
const SERVICES = 500;
const DAY = 86_400_000;
const now = Date.now();
const start = now - DAY;

interface Figures {
  loadRowsPerS: number;
  searchP50: number;
  searchP95: number;
  mapP50: number;
  mapP95: number;
}

async function runOn(pgh: BenchPostgres, citus?: CitusBenchPostgres): Promise<Figures> {
  const db = connect(await pgh.createDatabase('bench_query'), { poolSize: 4 });
  const nodeUrls = citus?.nodeUrls('bench_query') ?? [];
  await ensurePartitions(db.pool, PARTITIONED_TABLES, [dayOf(start), dayOf(now)]);
  console.log(`bench:query — loading ${fmt(TOTAL)} flows over 24 h (${SERVICES} services, Zipf-skewed, HTTP on 30 %)`);
  const t0 = performance.now();
  const chunks = Math.ceil(TOTAL / CHUNK);
  let l7Total = 0;
  let next = 0;
  const ctx = { collectorId: crypto.randomUUID(), batchId: crypto.randomUUID() };
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (next < chunks) {
        const i = next++;
        const span = DAY / chunks;
        const t = generateTraffic({
          seed: 5000 + i,
          connections: Math.min(CHUNK, TOTAL - i * CHUNK),
          start: start + i * span,
          end: start + (i + 1) * span,
          services: SERVICES,
          namespaces: 20,
          requestsPerConnection: 1,
          l7Share: 0.3,
        });
        l7Total += t.l7.length;
        const client = await db.pool.connect();
        try {
          await client.query('BEGIN');
          const batch = encodeRecords({ batchId: ctx.batchId, flows: t.flows, l7: t.l7 });
          await copyBatch(client, batch, ctx);
          const minute = foldEdges(batch, MINUTE_MS);
          await upsertEdges(client, 'edge_minute', minute);
          await markDirtyHours(client, minute);
          await upsertServices(client, minute);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        if (i % 10 === 9)
          process.stdout.write(`  ${fmt(((i + 1) * CHUNK) / 1e6, 1)} M flows loaded (${fmt((performance.now() - t0) / 1000)} s)\n`);
      }
    }),
  );
  // The maintenance job's rollup steps, as they stand a minute after the load: closed hours, then closed 6 h blocks.
  await rebuildDirtyHours(db.pool, now);
  await rebuildDirtyBlocks(db.pool, now);
  await db.pool.query('VACUUM ANALYZE');
  const loadSeconds = (performance.now() - t0) / 1000;
  const sizes = (
    await db.pool.query(
      `SELECT (SELECT count(*) FROM flows) AS flows, (SELECT count(*) FROM l7_events) AS l7, (SELECT count(*) FROM edge_minute) AS em, (SELECT count(*) FROM edge_hour) AS eh, (SELECT count(*) FROM edge_6h) AS e6, pg_database_size(current_database()) AS bytes`,
    )
  ).rows[0];
  if (citus) sizes.bytes = await databaseBytes(nodeUrls);
  console.log(
    `loaded ${fmt(sizes.flows)} flows + ${fmt(sizes.l7)} L7 events (${fmt(l7Total)} generated), ${fmt(sizes.em)} minute / ${fmt(sizes.eh)} hour / ${fmt(sizes.e6)} 6-hour rollup rows, ${fmt(sizes.bytes / 2 ** 30, 1)} GiB, in ${fmt(loadSeconds)} s (${fmt((Number(sizes.flows) + Number(sizes.l7)) / loadSeconds)} rows/s)`,
  );

  const services = makeServices(SERVICES, 20);
  const rand = mulberry32(99);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const RUNS = Number(process.env.BENCH_RUNS ?? 40);
  const scenarios: [string, () => FlowQueryFilterInput, number][] = [
    ['to service (1 h)', () => ({ allow: [{ destinationService: [pick(services).name] }] }), 3_600_000],
    ['to service (24 h)', () => ({ allow: [{ destinationService: [pick(services).name] }] }), DAY],
    [
      'either side service (24 h)',
      () => {
        const s = pick(services).name;
        return { allow: [{ sourceService: [s] }, { destinationService: [s] }] };
      },
      DAY,
    ],
    ['http status 5+ (1 h)', () => ({ allow: [{ httpStatusCode: ['5+'] }] }), 3_600_000],
    ['http status 503 (24 h)', () => ({ allow: [{ httpStatusCode: ['503'] }] }), DAY],
    ['source ip (24 h)', () => ({ allow: [{ sourceIp: [pick(pick(services).ips)] }] }), DAY],
    [
      'combined: to service + 5+ + GET (24 h)',
      () => ({ allow: [{ destinationService: [pick(services.slice(0, 50)).name], httpStatusCode: ['5+'], httpMethod: ['GET'] }] }),
      DAY,
    ],
  ];
  console.log(`\nflow searches, first page of 100, ${RUNS} runs each (target p95 < 150 ms):`);
  if (citus) await resetStatements(nodeUrls);
  const allTimes: number[] = [];
  for (const [name, make, window] of scenarios) {
    const times: number[] = [];
    let rows = 0;
    for (let r = 0; r < RUNS; r++) {
      const filter = FlowQueryFilter.parse(make());
      const s = performance.now();
      const res = await searchFlows(db.pool, { filter, since: now - window, until: now, limit: 100 });
      times.push(performance.now() - s);
      rows += res.items.length;
    }
    allTimes.push(...times);
    console.log(
      `  ${name.padEnd(40)} p50 ${fmt(percentile(times, 0.5), 1).padStart(7)} ms   p95 ${fmt(percentile(times, 0.95), 1).padStart(7)} ms   (avg ${fmt(rows / RUNS)} rows)`,
    );
  }
  console.log(
    `  ${'all searches'.padEnd(40)} p50 ${fmt(percentile(allTimes, 0.5), 1).padStart(7)} ms   p95 ${fmt(percentile(allTimes, 0.95), 1).padStart(7)} ms`,
  );
  if (citus) {
    console.log('where the search time went:');
    await printStatements(nodeUrls);
    await resetStatements(nodeUrls);
  }
  const mapTimes: number[] = [];
  let edges = 0;
  let nodes = 0;
  for (let r = 0; r < 10; r++) {
    const s = performance.now();
    const m = await serviceMap(db.pool, { since: now - DAY, until: now });
    mapTimes.push(performance.now() - s);
    edges = m.edges.length;
    nodes = m.nodes.length;
  }
  console.log(
    `\nservice map, 24 h (${fmt(nodes)} nodes, ${fmt(edges)} edges): p50 ${fmt(percentile(mapTimes, 0.5))} ms, p95 ${fmt(percentile(mapTimes, 0.95))} ms (target < 1000 ms)`,
  );
  if (citus) {
    console.log('where the map time went:');
    await printStatements(nodeUrls);
  }
  // Per-endpoint golden signals read the service's raw L7 events of the window (no endpoint rollup).
  const busiest = (
    await db.pool.query(
      `SELECT dst_service AS s, coalesce(dst_namespace, '') AS ns, count(*) AS n FROM l7_events GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1`,
    )
  ).rows[0] as { s: string; ns: string; n: string };
  for (const [label, window] of [
    ['1 h', 3_600_000],
    ['24 h', DAY],
  ] as const) {
    const times: number[] = [];
    let endpoints = 0;
    for (let r = 0; r < 10; r++) {
      const s = performance.now();
      endpoints = (await serviceEndpoints(db.pool, { since: now - window, until: now, service: busiest.s, namespace: busiest.ns })).length;
      times.push(performance.now() - s);
    }
    console.log(
      `endpoints of the busiest service (${fmt(Number(busiest.n))} L7 events in 24 h), ${label}: ${endpoints} endpoints, p50 ${fmt(percentile(times, 0.5), 1)} ms, p95 ${fmt(percentile(times, 0.95), 1)} ms`,
    );
  }
  await db.close();
  return {
    loadRowsPerS: (Number(sizes.flows) + Number(sizes.l7)) / loadSeconds,
    searchP50: percentile(allTimes, 0.5),
    searchP95: percentile(allTimes, 0.95),
    mapP50: percentile(mapTimes, 0.5),
    mapP95: percentile(mapTimes, 0.95),
  };
}

// BENCH_CITUS_ONLY=1: the cluster alone (to compare its settings between runs).
let single: Figures | undefined;
if (process.env.BENCH_CITUS_ONLY !== '1') {
  const pgh = await startBenchPostgres();
  try {
    if (BENCH_CITUS) console.log('\n— single node (embedded PostgreSQL) —');
    single = await runOn(pgh);
  } finally {
    await pgh.stop();
  }
}
// BENCH_CITUS=1: the same data and queries on a Citus coordinator + 2 workers on this machine, then side by side.
if (BENCH_CITUS) {
  console.log(`\n— Citus: coordinator + 2 workers on loopback, ${BENCH_CITUS_SHARDS} shards per table —`);
  const cluster = await startCitusBenchPostgres();
  try {
    const onCitus = await runOn(cluster, cluster);
    const base = single;
    if (base) {
      console.log(`\n${fmt(TOTAL)} flows         single node    Citus (1 + 2 nodes, one box)   Citus / single`);
      for (const [label, k, unit] of [
        ['load rows/s', 'loadRowsPerS', ''],
        ['searches p50', 'searchP50', ' ms'],
        ['searches p95', 'searchP95', ' ms'],
        ['24 h map p50', 'mapP50', ' ms'],
        ['24 h map p95', 'mapP95', ' ms'],
      ] as const)
        console.log(
          `  ${label.padEnd(20)} ${(fmt(base[k], 1) + unit).padStart(12)}    ${(fmt(onCitus[k], 1) + unit).padStart(12)}                   ${fmt(onCitus[k] / base[k], 2)}`,
        );
    }
  } finally {
    await cluster.stop();
  }
}
