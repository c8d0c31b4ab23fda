import { generateTraffic } from '@sextant/db/testing';
import { connect, copyInto, FLOW_COLUMNS, flowRow, L7_COLUMNS, l7Row, foldEdges, upsertEdges, upsertServices, MINUTE_MS, HOUR_MS, ensurePartitions, PARTITIONED_TABLES, dayOf } from '@sextant/db';
import { IngestBatch } from '@sextant/shared';
import { startBenchPostgres } from './bench-db';
const pgh = await startBenchPostgres();
const db = connect(await pgh.createDatabase('prof'));
const now = Date.now();
await ensurePartitions(db.pool, PARTITIONED_TABLES, [dayOf(now)]);
const T: Record<string, number> = {};
const time = async (k: string, f: () => Promise<unknown>) => { const s = performance.now(); await f(); T[k] = (T[k] ?? 0) + performance.now() - s; };
for (let i = 0; i < 30; i++) {
  const start = now - 600000 + i * 5000;
  const t = generateTraffic({ seed: 1000 + i, connections: 2000, start, end: start + 5000, services: 500, namespaces: 20, requestsPerConnection: 1, l7Share: 0.7 });
  const b = IngestBatch.parse({ schemaVersion: 1, batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7 });
  const ctx = { collectorId: crypto.randomUUID(), batchId: b.batchId };
  const c = await db.pool.connect();
  await c.query('BEGIN');
  await time('copyFlows', () => copyInto(c, 'flows', FLOW_COLUMNS, b.flows, (f) => flowRow(f, ctx)));
  await time('copyL7', () => copyInto(c, 'l7_events', L7_COLUMNS, b.l7, (e) => l7Row(e, ctx)));
  const m = foldEdges(b.flows, b.l7, MINUTE_MS);
  await time('edgeMinute', () => upsertEdges(c, 'edge_minute', m));
  await time('edgeHour', () => upsertEdges(c, 'edge_hour', foldEdges(b.flows, b.l7, HOUR_MS)));
  await time('services', () => upsertServices(c, m));
  await time('commit', () => c.query('COMMIT'));
  c.release();
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(T).map(([k, v]) => [k, Math.round(v)]))));
await db.close(); await pgh.stop();
