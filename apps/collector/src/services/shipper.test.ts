import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { createCollectorToken } from '@sextant/db';
import { createTestDatabase, generateTraffic, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { encodeBatch, encodeFlowRows, FLOW_IX, WIRE_SCHEMA_VERSION, type FlowInput, type PendingFlowRow } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthTracker } from './health';
import { prepareBatch } from './prepared-batch';
import { Shipper } from './shipper';
import { DEAD_LETTER_FILE, Spool } from './spool';
import { trpcTransport } from './transport';

let db: TestDatabase;
let token: string;
let server: StandaloneServer | undefined;
const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-'));

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  token = (await createCollectorToken(db.prisma, 'shipper-test')).token;
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const flowCount = async () => Number((await db.pool.query('SELECT count(*) AS n FROM flows')).rows[0].n);
const distinctFlows = async () => Number((await db.pool.query('SELECT count(DISTINCT flow_id) AS n FROM flows')).rows[0].n);

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}

/** Flows as the assembler's rows: refs back to the identity objects themselves. */
function pendingRows(flows: FlowInput[]): PendingFlowRow[] {
  const { endpoints, flows: rows } = encodeFlowRows(flows, 'shipper-test');
  return rows.map((r) => {
    const p = [...r] as unknown as PendingFlowRow;
    p[3] = r[3] ?? 'shipper-test';
    p[11] = r[11] === null ? null : endpoints[r[11]]!;
    p[14] = r[14] === null ? null : endpoints[r[14]]!;
    return p;
  });
}

describe('shipper', () => {
  it('delivers every flow exactly once across a server outage, via the spool', async () => {
    server = await startStandaloneServer({ db, version: 'test' });
    const port = Number(new URL(server.url).port);
    const spool = new Spool(spoolDir, 64 * 1024 * 1024);
    const shipper = new Shipper(trpcTransport(server.url, token, 2_000), spool, {
      batchMaxRecords: 100,
      flushIntervalMs: 50,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    shipper.start();
    const now = Date.now();
    const t = generateTraffic({ seed: 3, connections: 900, start: now - 60_000, end: now, requestsPerConnection: 0, l7Share: 0 });
    const parts = [t.flows.slice(0, 300), t.flows.slice(300, 600), t.flows.slice(600)];
    shipper.addFlows(parts[0] ?? []);
    await waitFor(async () => (await flowCount()) === 300, 10_000);
    await server.close(); // the server goes away mid-stream
    // TCP connections come as rows (FlowAssembler.tcpRows), UDP and drops as flows: both, cut into batches of 100.
    shipper.addFlowRows(pendingRows(parts[1]?.slice(0, 150) ?? []));
    shipper.addFlows(parts[1]?.slice(150) ?? []);
    await waitFor(async () => spool.stats().files > 0, 10_000);
    expect(await flowCount()).toBe(300);
    server = await startStandaloneServer({ db, version: 'test' }, { port });
    shipper.addFlows(parts[2]?.slice(0, 33) ?? []);
    shipper.addFlowRows(pendingRows(parts[2]?.slice(33) ?? []));
    await waitFor(async () => (await flowCount()) >= 900 && spool.stats().files === 0, 20_000);
    await shipper.stop();
    expect(await flowCount()).toBe(900);
    expect(await distinctFlows()).toBe(900);
    expect(shipper.stats.failedAttempts).toBeGreaterThan(0);
  });

  it('re-sends batches left in the spool by a previous run without duplicating them', async () => {
    const before = await flowCount();
    const spool = new Spool(spoolDir, 64 * 1024 * 1024);
    const now = Date.now();
    const t = generateTraffic({ seed: 4, connections: 50, start: now - 1000, end: now, l7Share: 0 });
    const batch = { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows };
    spool.put(prepareBatch(batch));
    // e.g. spooled twice around a crash
    spool.put(prepareBatch(batch));
    const shipper = new Shipper(trpcTransport(server?.url ?? '', token), new Spool(spoolDir, 64 * 1024 * 1024), {
      batchMaxRecords: 100,
      flushIntervalMs: 50,
    });
    shipper.start();
    await waitFor(async () => new Spool(spoolDir, 1 << 30).stats().files === 0, 10_000);
    await shipper.stop();
    expect((await flowCount()) - before).toBe(50);
    expect(shipper.stats.duplicateBatches).toBe(1);
  });

  it('drops a batch the server rejects as malformed (counted, not retried), and reads spool files of the earlier naming', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-reject-'));
    const now = Date.now();
    const t = generateTraffic({ seed: 6, connections: 20, start: now - 1000, end: now, l7Share: 0 });
    // Written by an earlier collector version: <sequence>-<batch id>.json, no record count in the name; batch
    // schema 5 (flows as rows), which the server still takes.
    const old = { ...encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: t.flows }), schemaVersion: 5 };
    fs.writeFileSync(path.join(dir, `000000000007-${old.batchId}.json`), JSON.stringify(old));
    const spool = new Spool(dir, 64 * 1024 * 1024);
    expect(spool.peek()?.batch).toMatchObject({ batchId: old.batchId, records: 20 });
    const bad = prepareBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: t.flows.slice(0, 5) });
    spool.put({ ...bad, body: Buffer.from(bad.body.toString().replace(`"schemaVersion":${WIRE_SCHEMA_VERSION}`, '"schemaVersion":99')) });
    const before = await flowCount();
    const shipper = new Shipper(trpcTransport(server?.url ?? '', token), spool, { batchMaxRecords: 100, flushIntervalMs: 50 });
    shipper.start();
    await waitFor(async () => spool.stats().files === 0, 10_000);
    await shipper.stop();
    expect((await flowCount()) - before).toBe(20);
    expect(shipper.stats).toMatchObject({
      sentBatches: 1,
      sentRecords: 20,
      rejectedBatches: 1,
      rejectedRecords: 5,
      lastError: 'BAD_REQUEST',
    });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('bounds the spool by shedding the oldest batches of records only (nothing else to keep) and counting them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-bound-'));
    const now = Date.now();
    const t = generateTraffic({ seed: 5, connections: 400, start: now - 1000, end: now, l7Share: 0 });
    const batches = Array.from({ length: 10 }, (_, i) =>
      prepareBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: t.flows.slice(i * 40, (i + 1) * 40) }),
    );
    // room for four of them
    const limit = Math.max(...batches.map((b) => b.body.length)) * 4.5;
    const spool = new Spool(dir, limit);
    for (const b of batches) spool.put(b);
    const s = spool.stats();
    expect(s.bytes).toBeLessThanOrEqual(limit);
    expect(s.shedBatches).toBeGreaterThan(5);
    expect(s.files + s.shedBatches).toBe(10);
    expect(s.shedRecords).toBe(s.shedBatches * 40);
    expect(s.droppedBatches).toBe(0);
    // What is left are the newest batches.
    const oldest = spool.peek()?.batch;
    expect(oldest?.records).toBe(40);
    const body = JSON.parse(oldest?.body.toString() ?? '{}') as { flowColumns?: { columns: { text?: string }[] } };
    expect(body.flowColumns?.columns[FLOW_IX.id]?.text?.slice(0, 36)).toBe(t.flows[(10 - s.files) * 40]?.id);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a batch the server refuses (4xx) in the dead-letter file, counts it in health, and ships the next batches', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-dead-'));
    const spool = new Spool(dir, 64 * 1024 * 1024);
    const shipper = new Shipper(trpcTransport(server?.url ?? '', token), spool, {
      batchMaxRecords: 50,
      flushIntervalMs: 50,
      concurrency: 1,
    });
    const now = Date.now();
    const t = generateTraffic({ seed: 9, connections: 150, start: now - 60_000, end: now, l7Share: 0, nodeName: 'dead-letter-node' });
    // A value no column can hold (the schema bounds times to year 9999): the server answers 400, for good.
    const poisoned = t.flows.slice(50, 100).map((f, i) => (i === 7 ? { ...f, time: 8.64e15 } : f));
    shipper.addFlows(t.flows.slice(0, 50));
    shipper.addFlows(poisoned);
    shipper.addFlows(t.flows.slice(100));
    shipper.start();
    const stored = async () =>
      Number((await db.pool.query(`SELECT count(*) AS n FROM flows WHERE node_name = 'dead-letter-node'`)).rows[0].n);
    await waitFor(async () => (await stored()) === 100 && shipper.stats.rejectedBatches === 1, 10_000);
    const lines = fs.readFileSync(path.join(dir, DEAD_LETTER_FILE), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const dead = JSON.parse(lines[0] ?? '{}') as {
      batchId: string;
      records: number;
      reason: string;
      batch: { flowColumns: { rows: number } };
    };
    expect(dead).toMatchObject({ records: 50, reason: expect.stringMatching(/^BAD_REQUEST: invalid input: flows\.7\.1: Too big/) });
    expect(dead.batch.flowColumns.rows).toBe(50);
    expect(spool.stats()).toMatchObject({ files: 0, deadLetterBatches: 1, deadLetterRecords: 50 });
    // The count rides on the health report to the server (Collectors page, /api/metrics).
    const report = new HealthTracker('dead-letter-node', { available: true }).report(null, shipper.stats, spool.stats(), 0);
    expect(report).toMatchObject({ deadLetterBatches: 1, details: { deadLetterRecords: 50 } });
    shipper.setHealth(report);
    shipper.cut();
    await waitFor(
      async () =>
        (await db.pool.query(`SELECT last_health->>'deadLetterBatches' AS n FROM collectors WHERE name = 'shipper-test'`)).rows[0].n ===
        '1',
      10_000,
    );
    await shipper.stop();
    expect(await stored()).toBe(100);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('spools and retries a batch answered 5xx, and delivers it once the server recovers', async () => {
    // A front that answers 503 (as a server whose database is down does) for its first requests, then
    // passes requests on to the real server.
    let failures = 3;
    const target = new URL(server?.url ?? '');
    const front = http.createServer((req, res) => {
      if (failures > 0) {
        failures--;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'database unavailable', data: { code: 'SERVICE_UNAVAILABLE' } } }));
        return;
      }
      const up = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-5xx-'));
    const spool = new Spool(dir, 64 * 1024 * 1024);
    const url = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
    const shipper = new Shipper(trpcTransport(url, token), spool, {
      batchMaxRecords: 40,
      flushIntervalMs: 50,
      minBackoffMs: 50,
      maxBackoffMs: 100,
      concurrency: 1,
    });
    const now = Date.now();
    const t = generateTraffic({ seed: 10, connections: 40, start: now - 60_000, end: now, l7Share: 0, nodeName: 'retry-node' });
    shipper.addFlows(t.flows);
    shipper.start();
    await waitFor(async () => spool.stats().files === 1, 10_000);
    const stored = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM flows WHERE node_name = 'retry-node'`)).rows[0].n);
    await waitFor(async () => (await stored()) === 40 && spool.stats().files === 0, 10_000);
    await shipper.stop();
    expect(shipper.stats).toMatchObject({ sentBatches: 1, rejectedBatches: 0, failedAttempts: 3 });
    expect(fs.existsSync(path.join(dir, DEAD_LETTER_FILE))).toBe(false);
    await new Promise((r) => front.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('bounds the dead-letter file: past its bound it is rotated, two files at most', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-dead-bound-'));
    const spool = new Spool(dir, 1 << 30, 4096);
    const body = Buffer.from(JSON.stringify({ schemaVersion: 1, pad: 'x'.repeat(1000) }));
    for (let i = 0; i < 20; i++) spool.deadLetter({ batchId: crypto.randomUUID(), body, records: 1 }, 'BAD_REQUEST');
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['dead-letter.1.jsonl', DEAD_LETTER_FILE]);
    for (const f of files) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(4096);
    expect(spool.stats()).toMatchObject({ deadLetterBatches: 20, deadLetterRecords: 20, files: 0 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
