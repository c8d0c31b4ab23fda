/**
 * Every SQL query of every PostgreSQL-flavoured export, expanded as Grafana expands it, runs against the
 * real database after known traffic went through the real ingest endpoint, and returns the expected values.
 */
import { bucketIndex, bucketUpperBound, encodeBatch } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownHealth, knownTraffic } from '../testing/traffic-fixtures';
import { startHarness, type Harness } from '../testing/api-harness';
import { allExports } from './all-exports';
import { grafanaSql, type GrafanaQueryContext } from './grafana-macros';
import { SQL_VARIABLES } from './sql-queries';

let h: Harness;
const minute = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
const trafficTime = minute + 10_000;
const ctx: GrafanaQueryContext = {
  from: new Date(minute - 30 * 60_000),
  to: new Date(),
  interval: '1m',
  vars: { namespace: ['shop'], service: ['payments'], collector: ['test-host'] },
};

beforeAll(async () => {
  h = await startHarness();
  const health = knownHealth(trafficTime);
  const res = await h
    .client(h.collectorToken)
    .ingest.push.mutate(encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), ...knownTraffic(trafficTime), health }));
  expect(res.stored).toBe(true);
});
afterAll(async () => h?.close());

type Row = Record<string, unknown>;
/** Runs an expanded query; numeric and bigint columns (strings in node-postgres) read as numbers, as Grafana does. */
async function run(sql: string): Promise<Row[]> {
  const rows = (await h.db.pool.query(grafanaSql(sql, ctx))).rows as Row[];
  return rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])),
  );
}

function targetsOf(d: ReturnType<typeof allExports>[number]['dashboard']): { panel: string; refId: string; rawSql: string }[] {
  return (d.panels ?? []).flatMap((p) =>
    ('targets' in p ? (p.targets ?? []) : []).map((t) => ({ panel: p.title ?? '', refId: String(t.refId), rawSql: String(t.rawSql) })),
  );
}

/** The latency panel reports a bucket's upper bound (never below the true value), in seconds. */
function upper(ms: number): number {
  const i = bucketIndex(ms * 1e6);
  return bucketUpperBound(i) / 1e9;
}

const pg = allExports().filter((e) => e.input.flavour === 'postgres');
const single = (dashboard: string, panel: string) => {
  const e = pg.find((x) => x.input.dashboard === dashboard && x.input.panel === panel);
  if (!e) throw new Error(`no export ${dashboard}/${panel}`);
  return targetsOf(e.dashboard);
};

describe('PostgreSQL-flavoured exports on the real database', () => {
  it('every query of every export runs and returns rows', async () => {
    let queries = 0;
    for (const e of pg) {
      for (const t of targetsOf(e.dashboard)) {
        const rows = await run(t.rawSql);
        expect(rows.length, `${e.dashboard.uid} ${t.panel} ${t.refId}`).toBeGreaterThan(0);
        queries += 1;
      }
    }
    expect(queries).toBe(40); // overview 10 + 10 single, service 8 + 8, map 2 + 2
  });

  it('requests, errors, connections, bytes and drops per second of the known minute', async () => {
    // Requests and their error ratio are the 5 HTTP exchanges (2 of them 503) only; the 4 connections carrying
    // them and the 3 dropped packets are not requests (formerly 12 "requests" with 5 errors).
    const t = minute / 1000;
    for (const dashboard of ['overview', 'service']) {
      expect(await run(single(dashboard, 'requests')[0]!.rawSql)).toEqual([{ time: t, metric: 'http', value: 5 / 60 }]);
      expect(await run(single(dashboard, 'errors')[0]!.rawSql)).toEqual([{ time: t, 'error ratio': 2 / 5 }]);
      expect(await run(single(dashboard, 'connections')[0]!.rawSql)).toEqual([
        { time: t, metric: 'connections', value: 4 / 60 },
        { time: t, metric: 'failed connections', value: 0 },
      ]);
      expect(await run(single(dashboard, 'bytes')[0]!.rawSql)).toEqual([{ time: t, 'bytes/s': 1200 / 60 }]);
      expect(await run(single(dashboard, 'drops')[0]!.rawSql)).toEqual([{ time: t, metric: 'POLICY_DENIED', value: 3 / 60 }]);
    }
  });

  it('latency percentiles from the merged histograms', async () => {
    const rows = await run(single('service', 'latency')[0]!.rawSql);
    expect(rows.map((r) => [(r.time as Date).getTime(), r.metric, r.seconds])).toEqual([
      [minute, 'p50', upper(10)],
      [minute, 'p95', upper(300)],
      [minute, 'p99', upper(300)],
    ]);
  });

  it('collector events/s and lost events', async () => {
    const [events, lost] = single('overview', 'collectors');
    const t = minute / 1000;
    expect(await run(events!.rawSql)).toEqual([{ time: t, metric: 'test-host', value: 120 }]);
    expect(await run(lost!.rawSql)).toEqual([{ time: t, metric: 'test-host lost', value: 7 }]);
  });

  it('the service map as Node Graph nodes and edges frames', async () => {
    const [nodes, edges] = single('service', 'map');
    expect(await run(nodes!.rawSql)).toEqual([
      { id: 'shop/frontend', title: 'frontend', subtitle: 'shop', mainstat: 0, secondarystat: null, detail__connections: 0 },
      { id: 'shop/payments', title: 'payments', subtitle: 'shop', mainstat: 5, secondarystat: 2 / 5, detail__connections: 4 },
    ]);
    expect(await run(edges!.rawSql)).toEqual([
      {
        id: 'shop/frontend->shop/payments',
        source: 'shop/frontend',
        target: 'shop/payments',
        mainstat: 5,
        secondarystat: 2 / 5,
        detail__connections: 4,
      },
    ]);
    const [allNodes, allEdges] = single('overview', 'map');
    expect((await run(allNodes!.rawSql)).map((r) => [r.id, r.mainstat])).toEqual([
      ['data/kafka', 1],
      ['kube-system/coredns', 2],
      ['shop/frontend', 0],
      ['shop/payments', 5],
    ]);
    expect((await run(allEdges!.rawSql)).map((r) => [r.id, r.mainstat])).toEqual([
      ['shop/frontend->data/kafka', 1],
      ['shop/frontend->kube-system/coredns', 2],
      ['shop/frontend->shop/payments', 5],
    ]);
  });

  it('the variable queries list namespaces, services and collectors', async () => {
    expect((await run(SQL_VARIABLES.namespace)).map((r) => r.namespace)).toEqual(['data', 'kube-system', 'shop']);
    expect((await run(SQL_VARIABLES.service)).map((r) => r.name)).toEqual(['frontend', 'payments']);
    expect((await run(SQL_VARIABLES.collector)).map((r) => r.name)).toEqual(['test-host']);
  });
});
