import { generateTraffic } from '@sextant/db/testing';
import { BatchEncoder, encodeFlowRows, type IngestBatchInput } from '@sextant/shared';
import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from './root';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const now = Date.now();

function batch(seed: number, connections = 200): IngestBatchInput {
  const t = generateTraffic({ seed, connections, start: now - 30 * 60_000, end: now - 60_000, services: 20 });
  return { schemaVersion: 1, batchId: crypto.randomUUID(), sentAt: Date.now(), flows: t.flows, l7: t.l7 };
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await h.db.pool.query(sql, params)).rows[0].n);
}

async function rejection(p: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<AppRouter>;
    throw err;
  }
  throw new Error('expected the call to be rejected');
}

describe('ingest', () => {
  it('registers a collector and stores a batch', async () => {
    const c = h.client(h.collectorToken);
    const reg = await c.ingest.register.mutate({ hostname: 'host-1', version: '0.1.0', kernel: '6.18' });
    expect(reg.name).toBe('test-host');
    expect(reg.wireSchemaVersions).toEqual([1, 2, 3]);
    const b = batch(1);
    const res = await c.ingest.push.mutate(b);
    expect(res).toMatchObject({ stored: true, flows: b.flows?.length, l7: b.l7?.length });
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [b.batchId])).toBe(b.flows?.length);
    expect(await count('SELECT count(*) AS n FROM l7_events WHERE batch_id = $1', [b.batchId])).toBe(b.l7?.length);
  });

  it('stores wire schema v2 and v3 batches (rows + endpoint table) exactly as the same flows and L7 events sent as v1', async () => {
    const c = h.client(h.collectorToken);
    const v1 = batch(11, 300);
    const t = generateTraffic({ seed: 11, connections: 300, start: now - 30 * 60_000, end: now - 60_000, services: 20 });
    const nodeName = t.flows[0]?.nodeName ?? '';
    const v2 = { schemaVersion: 2 as const, batchId: crypto.randomUUID(), sentAt: Date.now(), nodeName, ...encodeFlowRows(t.flows, nodeName), l7: t.l7 };
    expect(await c.ingest.push.mutate(v1)).toMatchObject({ stored: true, flows: 300 });
    expect(await c.ingest.push.mutate(v2)).toMatchObject({ stored: true, flows: 300, l7: v1.l7?.length });
    const rows = async (batchId: string) =>
      (await h.db.pool.query(`SELECT to_jsonb(f) - 'batch_id' - 'ingest_xid' - 'ingest_seq' AS r FROM flows f WHERE batch_id = $1 ORDER BY flow_id, time`, [batchId])).rows.map((r: { r: unknown }) => r.r);
    const [a, b] = [await rows(v1.batchId), await rows(v2.batchId)];
    expect(a).toHaveLength(300);
    expect(b).toEqual(a);
    // v3: L7 events' endpoints as refs into the same table; flows and L7 events stored as from v1
    const enc = new BatchEncoder(nodeName);
    for (const f of t.flows) enc.addFlow(f);
    const l7 = t.l7.map((e) => enc.l7(e));
    const v3 = { schemaVersion: 3 as const, batchId: crypto.randomUUID(), sentAt: Date.now(), nodeName, endpoints: enc.endpoints, flows: enc.rows, l7 };
    expect(await c.ingest.push.mutate(v3)).toMatchObject({ stored: true, flows: 300, l7: v1.l7?.length });
    expect(await rows(v3.batchId)).toEqual(a);
    const events = async (batchId: string) =>
      (await h.db.pool.query(`SELECT to_jsonb(e) - 'batch_id' - 'ingest_xid' - 'ingest_seq' AS r FROM l7_events e WHERE batch_id = $1 ORDER BY event_id`, [batchId])).rows.map((r: { r: unknown }) => r.r);
    const fromV1 = await events(v1.batchId);
    expect(fromV1.length).toBeGreaterThan(100);
    expect(await events(v3.batchId)).toEqual(fromV1);
  });

  it('stores the same batch once, also when sent concurrently', async () => {
    const c = h.client(h.collectorToken);
    const b = batch(2, 50);
    const results = await Promise.all(Array.from({ length: 5 }, () => c.ingest.push.mutate(b)));
    expect(results.filter((r) => r.stored)).toHaveLength(1);
    const again = await c.ingest.push.mutate(b);
    expect(again.stored).toBe(false);
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [b.batchId])).toBe(50);
  });

  it('rejects a malformed batch naming the zod path and stores nothing of it', async () => {
    const b = batch(3, 20);
    const flows = b.flows ?? [];
    (flows[3] as { source: { ip: string } }).source.ip = 'not-an-ip';
    const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(b));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(err.message).toContain('flows.3.source.ip');
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [b.batchId])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM ingest_receipts WHERE batch_id = $1', [b.batchId])).toBe(0);
  });

  it('rejects a batch whose L7 event lacks its protocol details', async () => {
    const b = batch(4, 5);
    delete (b.l7?.[0] as { http?: unknown }).http;
    const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(b));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(err.message).toContain('l7.0.http');
  });

  it('answers PAYLOAD_TOO_LARGE for too many rows and for an oversized body', async () => {
    const b = batch(5, 1);
    const flow = b.flows?.[0];
    const tooMany = { ...b, flows: Array.from({ length: 20_001 }, () => flow) };
    const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(tooMany as IngestBatchInput));
    expect(err.data?.code).toBe('PAYLOAD_TOO_LARGE');
    const res = await fetch(`${h.server.url}/api/trpc/ingest.push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.collectorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...b, padding: 'x'.repeat(17 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(await count('SELECT count(*) AS n FROM ingest_receipts WHERE batch_id = $1', [b.batchId])).toBe(0);
  });

  it('answers UNAUTHORIZED without a token, with a wrong one and with a revoked one', async () => {
    const b = batch(6, 5);
    for (const token of [null, 'sxc_wrong', h.userToken]) {
      const err = await rejection(h.client(token).ingest.push.mutate(b));
      expect(err.data?.code).toBe('UNAUTHORIZED');
    }
    const admin = h.client(h.userToken);
    const created = await admin.collectors.create.mutate({ name: 'to-revoke' });
    expect((await h.client(created.token).ingest.push.mutate(b)).stored).toBe(true);
    await admin.collectors.revoke.mutate({ id: created.collector.id });
    const err = await rejection(h.client(created.token).ingest.push.mutate(batch(7, 1)));
    expect(err.data?.code).toBe('UNAUTHORIZED');
  });

  it('serves /api/health', async () => {
    const res = await fetch(`${h.server.url}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', db: 'ok', version: '0.1.0' });
  });
});
