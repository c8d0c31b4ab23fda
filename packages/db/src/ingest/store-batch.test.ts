/** storeBatch's own defences, below the wire schemas: no NUL reaches COPY, no batch makes partitions without bound. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken } from '../auth/collectors';
import { generateTraffic } from '../fixtures/generate-traffic';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { encodeRecords } from '@sextant/shared';
import { copyField } from './copy-text';
import { IngestInputError } from './errors';
import { storeBatch, storeRecords } from './store-batch';
import { applyWindow, ingestWindow, windowDays } from './window';

const DAY = 86_400_000;
let db: TestDatabase;
let collectorId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  collectorId = (await createCollectorToken(db.prisma, 'store-test')).collector.id;
});
afterAll(async () => db?.close());

const partitions = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM pg_class WHERE relname ~ '_p[0-9]{8}$'`)).rows[0].n);

describe('storeBatch', () => {
  it('stores records whose text bypassed the schemas with NUL and lone surrogates (COPY writes U+FFFD)', async () => {
    expect(copyField('a\u0000b')).toBe('a\uFFFDb');
    expect(copyField({ k: 'x\u0000\uD800' })).toBe('{"k":"x\uFFFD\uFFFD"}');
    const now = Date.now();
    const t = generateTraffic({ seed: 1, connections: 10, start: now - 60_000, end: now });
    const e = t.l7[0]!;
    e.http = { ...e.http!, url: '/a\u0000b', path: '/a\u0000b' };
    t.flows[0]!.source.process = { pid: 1, name: 'p\u0000\uDC00' };
    const batchId = crypto.randomUUID();
    expect((await storeRecords(db.pool, collectorId, { batchId, sentAt: now, flows: t.flows, l7: t.l7, histograms: [] })).stored).toBe(
      true,
    );
    const r = await db.pool.query(`SELECT http_path, detail->>'url' AS url FROM l7_events WHERE event_id = $1`, [e.id]);
    expect(r.rows[0]).toEqual({ http_path: '/a\uFFFDb', url: '/a\uFFFDb' });
    expect((await db.pool.query(`SELECT src_process FROM flows WHERE flow_id = $1`, [t.flows[0]!.id])).rows[0].src_process).toBe(
      'p\uFFFD\uFFFD',
    );
  });

  it('refuses a batch spanning more days than allowed before creating any partition', async () => {
    const now = Date.now();
    const t = generateTraffic({ seed: 2, connections: 40, start: now - 60_000, end: now, l7Share: 0 });
    const flows = t.flows.map((f, i) => ({ ...f, time: now + i * DAY }));
    const before = await partitions();
    const batch = encodeRecords({ batchId: crypto.randomUUID(), sentAt: now, flows, l7: [], histograms: [] });
    await expect(storeBatch(db.pool, collectorId, batch)).rejects.toThrow(IngestInputError);
    await expect(storeBatch(db.pool, collectorId, batch, { maxDays: 9 })).rejects.toThrow('records span 40 days: at most 9 days per batch');
    expect(await partitions()).toBe(before);
    // Inside the ingest window a batch touches at most retention + 2 days.
    const w = ingestWindow(7, now);
    const { batch: kept, rejected } = applyWindow(batch, w);
    expect(rejected).toEqual({ tooOld: 0, tooNew: 39 });
    expect(windowDays(w)).toBeLessThanOrEqual(9);
    expect((await storeBatch(db.pool, collectorId, kept, { maxDays: windowDays(w) })).flows).toBe(1);
  });
});
