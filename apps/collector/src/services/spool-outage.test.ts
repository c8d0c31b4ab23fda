/**
 * A server outage longer than the spool holds, against the real server and database: batches of flows, L7 records,
 * kernel L7 aggregates, latency histograms and health reports spool to real files too small for all of them; the
 * collector restarts with the compacted spool on disk and drains it. What is stored is checked against what was
 * generated: every aggregate's exchanges and every histogram observation exactly once, every batch whole or
 * aggregate-only (never part of its records), and the records shed counted exactly.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { createCollectorToken } from '@sextant/db';
import { createTestDatabase, generateTraffic, httpAggregate, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import type { HistogramSample } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packetDrop, udpConversation } from '../testing/kernel-aggregate-flows';
import { HealthTracker } from './health';
import { prepareBatch, type BatchContent } from './prepared-batch';
import { Shipper } from './shipper';
import { Spool } from './spool';
import { compactBatch } from './spool-compact';
import { trpcTransport } from './transport';

let db: TestDatabase;
let server: StandaloneServer;
const dirs: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  server = await startStandaloneServer({ db, version: 'test' });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const ROUNDS = 16;
const FLOWS = 60;
const L7 = 40;
/** UDP conversations and packet drops per round: flows that are kernel aggregates, kept like them. */
const KERNEL_FLOWS = 5;
const MINUTE = 60_000;
const windowAt = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE + 5_000;

/**
 * Round i of a test's traffic: its TCP flows and L7 records, UDP conversation and drop flows, two L7 aggregate rows
 * and a histogram of its own services.
 */
function rounds(tag: string) {
  const now = Date.now();
  const t = generateTraffic({ seed: 31, connections: ROUNDS * FLOWS, start: now - 120_000, end: now - 60_000, nodeName: tag, l7Share: 1 });
  expect(t.l7.length).toBeGreaterThanOrEqual(ROUNDS * L7);
  return Array.from({ length: ROUNDS }, (_, i) => ({
    flows: [
      ...t.flows.slice(i * FLOWS, (i + 1) * FLOWS),
      ...t.flows.slice(i * KERNEL_FLOWS, i * KERNEL_FLOWS + 3).map(udpConversation),
      ...t.flows.slice(i * KERNEL_FLOWS + 3, (i + 1) * KERNEL_FLOWS).map(packetDrop),
    ],
    l7: t.l7.slice(i * L7, (i + 1) * L7),
    l7Aggregates: [200, 503].map((code, k) =>
      httpAggregate({
        time: windowAt,
        source: { ip: '10.7.0.1', service: `${tag}-client` },
        destination: { ip: '10.7.0.2', port: 8080, service: `${tag}-server` },
        code,
        count: k === 0 ? 10 * i + 1 : i + 2,
        latencyNs: 3_000_000,
      }),
    ),
    histograms: [
      {
        kind: 'tcp_connect',
        windowStart: windowAt,
        windowSeconds: 10,
        nodeName: tag,
        sourceService: `${tag}-client`,
        sourceNamespace: '',
        destinationService: `${tag}-server`,
        destinationNamespace: '',
        idx: [20, 21],
        cnt: [i + 1, 2],
      } satisfies HistogramSample,
    ],
  }));
}
type Round = ReturnType<typeof rounds>[number];
const exchanges = (rs: Round[]) => rs.reduce((a, r) => a + r.l7Aggregates.reduce((b, x) => b + x.count, 0), 0);
const observations = (rs: Round[]) => rs.reduce((a, r) => a + r.histograms.reduce((b, h) => b + h.cnt[0]! + h.cnt[1]!, 0), 0);

/** A spool bound that holds four whole batches, and (checked) every batch's aggregate parts. */
function boundFor(rs: Round[], tag: string): number {
  const spool = new Spool(tempDir(), 1 << 30);
  const health = new HealthTracker(tag, { available: true }).report(
    null,
    new Shipper(trpcTransport('', ''), spool, shipperOpts).stats,
    spool.stats(),
    0,
  );
  const b = prepareBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), ...rs[0]!, health } satisfies BatchContent);
  const bound = b.body.length * 4;
  expect(compactBatch(b.body).body!.length * 1.2 * ROUNDS).toBeLessThan(bound);
  return bound;
}

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-outage-'));
  dirs.push(d);
  return d;
}

async function waitFor(cond: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out waiting');
}

const q = async (sql: string, params: unknown[]) => (await db.pool.query(sql, params)).rows;

/** What the server stored for a test: per batch receipt, records, and the aggregate rollups of its services. */
async function stored(collectorId: string, tag: string) {
  const receipts = await q(`SELECT flows, l7_events FROM ingest_receipts WHERE collector_id = $1`, [collectorId]);
  const [f] = await q(
    `SELECT count(*)::int AS n, (count(*) FILTER (WHERE l4_protocol <> 'TCP' OR verdict = 'DROPPED'))::int AS kernel
       FROM flows WHERE collector_id = $1`,
    [collectorId],
  );
  const [l] = await q(`SELECT count(*)::int AS n FROM l7_events WHERE collector_id = $1`, [collectorId]);
  const [e] = await q(
    `SELECT coalesce(sum(requests), 0)::int AS requests, coalesce(sum((SELECT sum(c) FROM unnest(hist_cnt) c)), 0)::int AS hist
       FROM edge_minute WHERE src_service = $1 AND dst_service = $2 AND protocol = 'http'`,
    [`${tag}-client`, `${tag}-server`],
  );
  const [h] = await q(`SELECT coalesce(sum(samples), 0)::int AS n FROM latency_minute WHERE kind = 'tcp_connect' AND src_service = $1`, [
    `${tag}-client`,
  ]);
  const [hr] = await q(`SELECT count(*)::int AS n FROM collector_health WHERE collector_id = $1`, [collectorId]);
  return {
    receipts: receipts.map((r) => `${r.flows}/${r.l7_events}`),
    records: (f.n as number) + (l.n as number),
    kernelFlows: f.kernel as number,
    requests: e.requests as number,
    requestHist: e.hist as number,
    observations: h.n as number,
    healthReports: hr.n as number,
  };
}

const shipperOpts = { batchMaxRecords: 2_000, flushIntervalMs: 60_000, concurrency: 1, minBackoffMs: 20, maxBackoffMs: 50 };

describe('the spool across an outage longer than it holds', () => {
  it('stores every aggregate exactly, each batch whole or aggregate-only, after a restart with the compacted spool', async () => {
    const tag = 'outage';
    const { collector, token } = await createCollectorToken(db.prisma, tag);
    const rs = rounds(tag);
    const bound = boundFor(rs, tag);
    const dir = tempDir();
    const port = Number(new URL(server.url).port);
    await server.close(); // the server goes away
    const spool = new Spool(dir, bound);
    // (a memory queue of one batch: the rest spills to the spool at once)
    const shipper = new Shipper(trpcTransport(server.url, token, 2_000), spool, { ...shipperOpts, nodeName: tag, maxQueuedBytes: 1 });
    shipper.start();
    const health = new HealthTracker(tag, { available: true });
    for (const r of rs) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // (the sender tries meanwhile, and fails)
      shipper.addFlows(r.flows);
      shipper.addL7(r.l7);
      shipper.addL7Aggregates(r.l7Aggregates);
      shipper.addHistograms(r.histograms);
      shipper.setHealth(health.report(null, shipper.stats, spool.stats(), 0));
      shipper.cut();
    }
    await shipper.stop(0); // the collector stops: what it holds goes to the spool
    const s = spool.stats();
    expect(s).toMatchObject({ files: ROUNDS, droppedBatches: 0, droppedAggregates: 0, droppedHistograms: 0 });
    expect(s.bytes).toBeLessThanOrEqual(bound);
    expect(s.shedBatches).toBeGreaterThan(ROUNDS / 2);
    expect(s.shedRecords).toBe(s.shedBatches * (FLOWS + L7));

    // The collector starts again with the spool as it is on disk; the server is back.
    server = await startStandaloneServer({ db, version: 'test' }, { port });
    const restarted = new Spool(dir, bound);
    expect(restarted.stats()).toMatchObject({ files: ROUNDS, bytes: s.bytes });
    const again = new Shipper(trpcTransport(server.url, token), restarted, { ...shipperOpts, nodeName: tag });
    again.start();
    await waitFor(() => restarted.stats().files === 0, 20_000);
    const got = await stored(collector.id, tag);
    expect(got).toMatchObject({
      requests: exchanges(rs),
      requestHist: exchanges(rs),
      observations: observations(rs),
      healthReports: ROUNDS,
      kernelFlows: ROUNDS * KERNEL_FLOWS,
      records: ROUNDS * (FLOWS + L7 + KERNEL_FLOWS) - s.shedRecords,
    });
    // Every batch once, whole or without its records: never part of them.
    expect(got.receipts.filter((r) => r === `${KERNEL_FLOWS}/0`)).toHaveLength(s.shedBatches);
    expect(got.receipts.filter((r) => r === `${FLOWS + KERNEL_FLOWS}/${L7}`)).toHaveLength(ROUNDS - s.shedBatches);

    // The counts ride on the health report to the server (Collectors page: lost events; details per kind).
    again.setHealth(health.report(null, shipper.stats, s, 0));
    again.cut();
    await waitFor(async () => (await stored(collector.id, tag)).healthReports === ROUNDS + 1, 10_000);
    await again.stop();
    const [last] = await q(`SELECT last_health AS h FROM collectors WHERE id = $1`, [collector.id]);
    expect(last.h).toMatchObject({ lostEvents: s.shedRecords, details: { spoolShedRecords: s.shedRecords, spoolDroppedAggregates: 0 } });
  });

  it('does not count twice a batch stored before its answer was lost, then compacted in the spool', async () => {
    const tag = 'hidden';
    const { collector, token } = await createCollectorToken(db.prisma, tag);
    const rs = rounds(tag);
    const bound = boundFor(rs, tag);
    // A front that passes the first request on to the server but answers 503 (a timeout, as far as the
    // collector can tell), then answers 503 to everything.
    let forwarded = 0;
    const target = new URL(server.url);
    const front = http.createServer((req, res) => {
      const fail = () => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'unavailable', data: { code: 'SERVICE_UNAVAILABLE' } } }));
      };
      if (forwarded++ > 0) return fail();
      const up = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (r) => {
          r.resume();
          r.on('end', fail);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const dir = tempDir();
    const spool = new Spool(dir, bound);
    const shipper = new Shipper(trpcTransport(`http://127.0.0.1:${(front.address() as { port: number }).port}`, token), spool, {
      ...shipperOpts,
      nodeName: tag,
    });
    const [first, ...rest] = rs;
    shipper.addFlows(first!.flows);
    shipper.addL7(first!.l7);
    shipper.addL7Aggregates(first!.l7Aggregates);
    shipper.addHistograms(first!.histograms);
    shipper.cut();
    shipper.start();
    await waitFor(() => spool.stats().files === 1, 10_000);
    await shipper.stop(0);
    await new Promise((r) => front.close(r));
    expect((await stored(collector.id, tag)).receipts).toEqual([`${FLOWS + KERNEL_FLOWS}/${L7}`]); // stored whole, unknown to the collector
    // The outage goes on: later batches fill the spool, the first one is compacted under its batch id.
    const firstId = spool.peek()!.batch.batchId;
    for (const r of rest) spool.put(prepareBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), ...r }, { nodeName: tag }));
    expect(spool.peek()!.batch).toMatchObject({ batchId: firstId, records: 2 + KERNEL_FLOWS });
    const s = spool.stats();
    expect(s.droppedBatches).toBe(0);

    const restarted = new Spool(dir, bound);
    const again = new Shipper(trpcTransport(server.url, token), restarted, { ...shipperOpts, nodeName: tag });
    again.start();
    await waitFor(() => restarted.stats().files === 0, 20_000);
    await again.stop();
    expect(again.stats.duplicateBatches).toBe(1);
    const got = await stored(collector.id, tag);
    expect(got.receipts).toHaveLength(ROUNDS);
    expect(got).toMatchObject({
      requests: exchanges(rs),
      requestHist: exchanges(rs),
      observations: observations(rs),
      kernelFlows: ROUNDS * KERNEL_FLOWS,
    });
    // The first batch's records were stored and counted as shed too: the collector could not know.
    expect(got.records).toBe(ROUNDS * (FLOWS + L7 + KERNEL_FLOWS) - s.shedRecords + FLOWS + L7);
  });
});
