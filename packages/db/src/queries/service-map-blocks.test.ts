/**
 * The 24 h service map read from six-hour blocks, hour rows and the current hour's minutes equals a
 * straightforward computation over edge_minute alone (sums per pair and protocol, histograms merged with the
 * shared maths, percentiles by shared quantile()): counts exact, percentiles the same bucket bounds. Checked
 * on generated traffic over 26 h (HTTP, TCP, UDP, drops), before the job, after it, and with late data in a
 * block the job had already built.
 */
import { fromSparse, isErrorClass, mergeInto, quantile, type Histogram, type StatusClass } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { generateTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { rebuildDirtyBlocks } from '../maintenance/block-rollups';
import { BLOCK_MS, rebuildDirtyHours } from '../maintenance/hour-rollups';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { edgeKind } from './edge-kinds';
import { Params } from './filter-sql';
import { rollupSource } from './rollup-source';
import { nodeId, serviceMap } from './service-map';

const HOUR = 3_600_000;
let db: TestDatabase;
let collectorId: string;
const now = Date.now();
const window = { since: now - 24 * HOUR, until: now };

async function store(seed: number, start: number, end: number, connections: number) {
  const t = generateTraffic({
    seed,
    connections,
    start,
    end,
    services: 12,
    namespaces: 3,
    l7Share: 0.5,
    requestsPerConnection: 2,
    refusedShare: 0.05,
    topologySeed: 7,
  });
  // Some connections as UDP and some records as drops, so every edge kind is on the map.
  t.flows.forEach((f, i) => {
    if (i % 17 === 3) f.l4Protocol = 'UDP';
    if (i % 23 === 5) f.verdict = 'DROPPED';
  });
  await storeRecords(db.pool, collectorId, { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7, histograms: [] });
}

interface RefProtocol {
  count: number;
  errors: number;
  bytesSent: number;
  bytesReceived: number;
  retransmits: number;
  hist: Histogram;
}

/** The reference: every minute row of the hour-widened window, summed and merged in plain code. */
async function reference() {
  const s = Math.floor(window.since / HOUR) * HOUR;
  const u = Math.ceil(window.until / HOUR) * HOUR;
  const rows = (
    await db.pool.query(`SELECT * FROM edge_minute WHERE bucket >= to_timestamp($1) AND bucket < to_timestamp($2)`, [s / 1000, u / 1000])
  ).rows as Record<string, unknown>[];
  const pairs = new Map<string, Map<string, RefProtocol>>();
  for (const r of rows) {
    const id = `${nodeId(String(r.src_namespace), String(r.src_service))}->${nodeId(String(r.dst_namespace), String(r.dst_service))}`;
    const protocols = pairs.get(id) ?? new Map<string, RefProtocol>();
    pairs.set(id, protocols);
    const x = protocols.get(String(r.protocol)) ?? { count: 0, errors: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, hist: new Map() };
    protocols.set(String(r.protocol), x);
    x.count += Number(r.requests);
    if (isErrorClass(r.status_class as StatusClass)) x.errors += Number(r.requests);
    x.bytesSent += Number(r.bytes_sent);
    x.bytesReceived += Number(r.bytes_received);
    x.retransmits += Number(r.retransmits);
    mergeInto(x.hist, fromSparse({ idx: (r.hist_idx as number[]).map(Number), cnt: (r.hist_cnt as string[]).map(Number) }));
  }
  return pairs;
}

const pct = (h: Histogram | null) => (h ? [quantile(h, 0.5), quantile(h, 0.95), quantile(h, 0.99)] : [null, null, null]);

/** The map compared with the reference, pair by pair and protocol by protocol. */
async function expectMapEqualsReference() {
  const [map, ref] = await Promise.all([serviceMap(db.pool, window), reference()]);
  expect(map.edges.map((e) => e.id).sort()).toEqual([...ref.keys()].sort());
  for (const e of map.edges) {
    const protocols = ref.get(e.id);
    if (!protocols) throw new Error(`edge ${e.id} not in the reference`);
    expect(e.protocols.map((x) => x.protocol).sort()).toEqual([...protocols.keys()].sort());
    const l7: Histogram = new Map();
    let requests = 0;
    let connections = 0;
    let drops = 0;
    for (const x of e.protocols) {
      const r = protocols.get(x.protocol);
      if (!r) throw new Error(`${x.protocol} on ${e.id} not in the reference`);
      const kind = edgeKind(x.protocol);
      if (kind === 'requests') {
        mergeInto(l7, r.hist);
        requests += r.count;
      }
      if (kind === 'connections') connections += r.count;
      if (kind === 'drops') drops += r.count;
      expect([x.count, x.errors, x.bytesSent, x.bytesReceived, x.retransmits], `${e.id} ${x.protocol}`).toEqual([
        r.count,
        r.errors,
        r.bytesSent,
        r.bytesReceived,
        r.retransmits,
      ]);
      expect([x.p50Ns, x.p95Ns, x.p99Ns], `${e.id} ${x.protocol} percentiles`).toEqual(pct(kind === 'drops' ? null : r.hist));
    }
    expect([e.requests, e.connections, e.drops]).toEqual([requests, connections, drops]);
    expect([e.p50Ns, e.p95Ns, e.p99Ns], `${e.id} request percentiles`).toEqual(pct(l7));
  }
  // The time-series source (hours and minutes, no blocks) totals the same rows.
  const p = new Params();
  const src = rollupSource(window.since, window.until, p);
  const totals = async (from: string, params: unknown[]) =>
    (
      await db.pool.query(
        `SELECT protocol, status_class, sum(requests)::float8 AS n, sum(bytes_sent)::float8 AS b, sum((SELECT sum(c) FROM unnest(hist_cnt) c))::float8 AS h
       FROM ${from} x GROUP BY 1, 2 ORDER BY 1, 2`,
        params,
      )
    ).rows;
  const minutes = new Params();
  const all = `(SELECT * FROM edge_minute WHERE bucket >= to_timestamp(${minutes.add(src.since / 1000)}) AND bucket < to_timestamp(${minutes.add(src.until / 1000)}))`;
  expect(await totals(src.sql, p.values)).toEqual(await totals(all, minutes.values));
  return map;
}

const count = async (sql: string) => Number((await db.pool.query(sql)).rows[0].n);

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'blocks')).collector.id;
  for (let h = 0; h < 26; h++) await store(100 + h, now - (26 - h) * HOUR, now - (25 - h) * HOUR, 150);
});
afterAll(async () => db?.close());

describe('service map from six-hour blocks', () => {
  it('equals the reference over minute rows before the job, after it, and with late data in a built block', async () => {
    // Before the job: every hour is dirty, the map reads minute rows.
    const before = await expectMapEqualsReference();
    expect(before.edges.some((e) => e.protocol.includes('http') && e.protocol.includes('tcp'))).toBe(true);
    expect(new Set(before.edges.flatMap((e) => e.protocols.map((x) => x.kind)))).toEqual(new Set(['requests', 'connections', 'drops']));
    await rebuildDirtyHours(db.pool, now);
    expect(await rebuildDirtyBlocks(db.pool, now)).toBeGreaterThanOrEqual(3);
    expect(await count('SELECT count(*) AS n FROM edge_6h')).toBeGreaterThan(0);
    const after = await expectMapEqualsReference();
    expect(after).toEqual(before);
    // Late data in the middle of a built block: the block is skipped (its hour is dirty) until the job runs again.
    const block = Math.floor((now - 12 * HOUR) / BLOCK_MS) * BLOCK_MS;
    await store(900, block + 2 * HOUR + 60_000, block + 2 * HOUR + 20 * 60_000, 80);
    await expectMapEqualsReference();
    expect(await rebuildDirtyHours(db.pool, now)).toBe(1);
    // Hour rebuilt, block marked but not rebuilt yet: still the same answer.
    expect(await count('SELECT count(*) AS n FROM rollup_dirty_blocks')).toBeGreaterThanOrEqual(1);
    await expectMapEqualsReference();
    expect(await rebuildDirtyBlocks(db.pool, now)).toBe(1);
    await expectMapEqualsReference();
    expect(await rebuildDirtyBlocks(db.pool, now)).toBe(0);
  });
});
