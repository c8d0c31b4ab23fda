/** The metadata reads and writes the API's routers call: collectors by name, `hubble status`, metrics' health rows, services. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollectorToken, revokeCollector } from '../auth/collectors';
import { createUser } from '../auth/users';
import { databaseReachable } from '../client';
import { generateTraffic } from '../fixtures/generate-traffic';
import { storeRecords } from '../ingest/store-batch';
import { listServices } from '../queries/services';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { createNamedCollector, IMPORT_COLLECTOR, importCollectorId } from './by-name';
import { activeCollectorHealth, collectorsStatus } from './status';

let db: TestDatabase;
let adminId: string;
beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  adminId = (await createUser(db.prisma, 'admin@example.com', 'correct horse battery staple', 'admin')).id;
});
afterAll(async () => db?.close());

describe('collectors by name', () => {
  it('creates a named collector once and answers null for a taken name', async () => {
    const created = await createNamedCollector(db.prisma, 'edge-1', adminId);
    expect(created?.collector.name).toBe('edge-1');
    expect(created?.token).toMatch(/^sxc_/);
    expect(await createNamedCollector(db.prisma, 'edge-1', adminId)).toBeNull();
  });

  it('gives every import the same hubble-import collector, also when imports race to create it', async () => {
    const ids = await Promise.all([1, 2, 3, 4].map(() => importCollectorId(db.prisma, adminId)));
    expect(new Set(ids).size).toBe(1);
    expect((await db.prisma.collector.findUnique({ where: { name: IMPORT_COLLECTOR } }))?.id).toBe(ids[0]);
  });
});

describe('collector status and health', () => {
  it('counts active, connected and revoked collectors, lost events and the recent rate, leaving out hubble-import', async () => {
    const now = Date.now();
    const a = (await createCollectorToken(db.prisma, 'status-a')).collector;
    const b = (await createCollectorToken(db.prisma, 'status-b')).collector;
    await db.prisma.collector.update({ where: { id: a.id }, data: { lastSeenAt: new Date(now - 1000), lastHealth: { lostEvents: 7 } } });
    await db.prisma.collector.update({
      where: { id: b.id },
      data: { lastSeenAt: new Date(now - 5 * 60_000), lastHealth: { lostEvents: 5 } },
    });
    const t = generateTraffic({ seed: 3, connections: 10, start: now - 30_000, end: now - 1000 });
    await storeRecords(db.pool, a.id, { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7, histograms: [] });
    await storeRecords(db.pool, await importCollectorId(db.prisma, adminId), {
      batchId: crypto.randomUUID(),
      sentAt: now,
      flows: t.flows.slice(0, 1),
      l7: [],
      histograms: [],
    });
    const before = await collectorsStatus(db.prisma, now);
    const other = (await createCollectorToken(db.prisma, 'status-c')).collector;
    await revokeCollector(db.prisma, other.id);
    const s = await collectorsStatus(db.prisma, now);
    expect(s.collectors).toEqual({ total: before.collectors.total, connected: 1, revoked: before.collectors.revoked + 1 });
    expect(s.lostEvents).toBe(12);
    expect(s.flowsPerSecond).toBeCloseTo((t.flows.length + t.l7.length) / 60, 6);
    expect(s.rateWindowSeconds).toBe(60);
    const health = await activeCollectorHealth(db.prisma);
    expect(health.map((r) => r.name)).not.toContain('status-c');
    expect(health.find((r) => r.name === 'status-a')).toEqual({
      name: 'status-a',
      lastSeenAt: expect.any(Date),
      lastHealth: { lostEvents: 7 },
    });
  });

  it('answers whether the database is reachable', async () => {
    expect(await databaseReachable(db.pool)).toBe(true);
  });
});

describe('services', () => {
  it('lists services by prefix, most recently seen first, then by name, up to the limit', async () => {
    await db.pool.query(`INSERT INTO services (namespace, name, kind, first_seen, last_seen) VALUES
      ('ns', 'api-b', 'service', now(), now() - interval '1 minute'), ('ns', 'api-a', 'service', now(), now() - interval '1 minute'),
      ('ns', 'api-new', 'service', now(), now()), ('', 'world', 'world', now(), now())`);
    const list = await listServices(db.prisma, { prefix: 'api', limit: 2 });
    expect(list.map((s) => s.name)).toEqual(['api-new', 'api-a']);
    expect(list[0]).toMatchObject({ namespace: 'ns', kind: 'service', lastSeen: expect.any(Number) });
  });
});
