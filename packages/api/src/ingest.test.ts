import { generateTraffic } from '@sextant/db/testing';
import { encodeBatch, encodeFlowColumns, FLOW_IX, type IngestBatchInput } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection, startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const now = Date.now();

function batch(seed: number, connections = 200): IngestBatchInput {
  const t = generateTraffic({ seed, connections, start: now - 30 * 60_000, end: now - 60_000, services: 20 });
  return encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: t.flows, l7: t.l7 });
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await h.db.pool.query(sql, params)).rows[0].n);
}

describe('ingest', () => {
  it('registers a collector and stores a batch', async () => {
    const c = h.client(h.collectorToken);
    const reg = await c.ingest.register.mutate({ hostname: 'host-1', version: '0.1.0', kernel: '6.18' });
    expect(reg.name).toBe('test-host');
    const b = batch(1);
    const res = await c.ingest.push.mutate(b);
    expect(res).toMatchObject({ stored: true, flows: b.flows?.length, l7: b.l7?.length });
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [b.batchId])).toBe(b.flows?.length);
    expect(await count('SELECT count(*) AS n FROM l7_events WHERE batch_id = $1', [b.batchId])).toBe(b.l7?.length);
  });

  it('answers a batch of another schema (flows as objects, as early 0.1.0 builds sent) 400 with one line, storing nothing', async () => {
    const t = generateTraffic({ seed: 11, connections: 30, start: now - 30 * 60_000, end: now - 60_000, services: 20 });
    const old = { schemaVersion: 1, batchId: crypto.randomUUID(), sentAt: Date.now(), flows: t.flows, l7: t.l7 };
    const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(old as unknown as IngestBatchInput));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(err.message).toContain('schemaVersion 1 is not supported: this server takes batch schemas 5 and 6');
    expect(err.message).not.toMatch(/flows\.\d/);
    expect(await count('SELECT count(*) AS n FROM ingest_receipts WHERE batch_id = $1', [old.batchId])).toBe(0);
  });

  it('stores a batch sent with its flows as columns (schema 6) exactly as the same batch sent as rows (schema 5)', async () => {
    const b = batch(12, 300);
    // sub-millisecond times as a collector's are (storage keeps microseconds; .9996 ms stays in its millisecond)
    const fractions = [0.9996, 0.0004, 0.123, 0.5, 0.25];
    b.flows!.forEach((r, i) => {
      r[FLOW_IX.time] += fractions[i % fractions.length]!;
      const end = r[FLOW_IX.endTime];
      if (end !== null) r[FLOW_IX.endTime] = end + fractions[(i + 2) % fractions.length]!;
    });
    const rows = { ...b, schemaVersion: 5 as const, batchId: crypto.randomUUID() };
    const { flows, ...rest } = b;
    const columns = { ...rest, batchId: crypto.randomUUID(), flowColumns: encodeFlowColumns(flows!) };
    const c = h.client(h.collectorToken);
    expect(await c.ingest.push.mutate(rows)).toMatchObject({ stored: true, flows: 300, l7: b.l7?.length });
    expect(await c.ingest.push.mutate(columns as unknown as IngestBatchInput)).toMatchObject({
      stored: true,
      flows: 300,
      l7: b.l7?.length,
    });
    const stored = async (batchId: string) =>
      (
        await h.db.pool.query(
          `SELECT row_to_json(f)::jsonb - 'batch_id' - 'ingest_seq' - 'ingest_xid' AS r FROM flows f WHERE batch_id = $1 ORDER BY flow_id, final, time`,
          [batchId],
        )
      ).rows.map((x: { r: unknown }) => x.r);
    // (all but what says which batch and when it was stored)
    const [asRows, asColumns] = [await stored(rows.batchId), await stored(columns.batchId)];
    expect(asRows).toHaveLength(300);
    expect(asColumns).toEqual(asRows);
    // the microseconds made it (not only whole milliseconds)
    expect(asRows.filter((r) => /\.\d{3}[1-9]\d*\+|\.\d{4,6}\+/.test((r as { time: string }).time)).length).toBeGreaterThan(100);
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
    (b.flows![3] as unknown[])[FLOW_IX.sourceIp] = 'not-an-ip';
    const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(b));
    expect(err.data?.code).toBe('BAD_REQUEST');
    expect(err.message).toContain(`flows.3.${FLOW_IX.sourceIp}`);
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
    const { flows: _rows, ...rest } = b;
    const columns = { ...rest, flowColumns: { ...encodeFlowColumns(b.flows!), rows: 20_001 } };
    const columnsErr = await rejection(h.client(h.collectorToken).ingest.push.mutate(columns as unknown as IngestBatchInput));
    expect(columnsErr.data?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(columnsErr.message).toBe('flows: 20001 items exceed the limit of 20000 per batch');
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
