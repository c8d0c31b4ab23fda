/**
 * The spool's compaction on real files: a batch without its records is still a batch the server's own schema takes,
 * with the same aggregates (endpoint identities resolved), histograms and health; records-only batches go; when
 * aggregate-only batches alone pass the bound, the oldest go whole, counted exactly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTraffic, httpAggregate } from '@sextant/db/testing';
import { encodeBatch, FLOW_IX, IngestBatch, type HistogramSample, type IngestBatchInput, type L7AggregateInput } from '@sextant/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { batchHealth, packetDrop, refusedConnect, udpConversation } from '../testing/kernel-aggregate-flows';
import { prepareBatch } from './prepared-batch';
import { Spool } from './spool';
import { compactBatch } from './spool-compact';

const dirs: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-compact-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const now = Date.now();
const aggregates = (n: number, count: number): L7AggregateInput[] =>
  Array.from({ length: n }, (_, i) =>
    httpAggregate({
      time: now - 120_000,
      source: { ip: '10.9.0.1', service: `client-${i}`, namespace: 'shop' },
      destination: { ip: '10.9.0.2', port: 8080, service: 'cart', namespace: 'shop' },
      code: 200 + i,
      count: count + i,
      latencyNs: 2_000_000,
    }),
  );
const histogram = (cnt: number[]): HistogramSample => ({
  kind: 'tcp_connect',
  windowStart: now - 120_000,
  windowSeconds: 10,
  nodeName: 'node-a',
  sourceService: 'client',
  sourceNamespace: 'shop',
  destinationService: 'cart',
  destinationNamespace: 'shop',
  idx: cnt.map((_, i) => 10 + i),
  cnt,
});

/** Flows and aggregates with their endpoint refs resolved to the identities, as the server reads them. */
function resolved(body: Buffer) {
  const b = IngestBatch.parse(JSON.parse(body.toString()) as IngestBatchInput);
  const at = (r: number | null) => (r === null ? null : b.endpoints[r]);
  return {
    ...b,
    flows: b.flows.map((f) => f.map((v, k) => (k === FLOW_IX.sourceRef || k === FLOW_IX.destinationRef ? at(v as number | null) : v))),
    l7Aggregates: b.l7Aggregates.map((a) => ({ ...a, source: at(a.source[2]), destination: at(a.destination[2]) })),
  };
}

describe('spool compaction', () => {
  it('keeps a batch’s aggregates (UDP conversation and drop flows too), histograms and health under its batch id, without its records', () => {
    const t = generateTraffic({ seed: 21, connections: 80, start: now - 60_000, end: now, l7Share: 0.5 });
    const kernelFlows = [...t.flows.slice(0, 4).map(udpConversation), ...t.flows.slice(4, 6).map(packetDrop)];
    const refused = t.flows.slice(6, 9).map(refusedConnect);
    const health = batchHealth(now);
    const batch = prepareBatch({
      batchId: crypto.randomUUID(),
      sentAt: now,
      flows: [...t.flows.slice(0, 40), ...kernelFlows, ...refused, ...t.flows.slice(40)],
      l7: t.l7,
      l7Aggregates: aggregates(3, 50),
      histograms: [histogram([1, 2, 3])],
      health,
    });
    const c = compactBatch(batch.body);
    expect(c).toMatchObject({ records: 83 + t.l7.length, aggregates: 9, exchanges: 153, histograms: 1, observations: 6, health: true });
    expect(c.body!.length).toBeLessThan(batch.body.length / 4);
    const before = resolved(batch.body);
    const after = resolved(c.body!);
    const ids = new Set(kernelFlows.map((f) => f.id));
    expect(after.flows).toEqual(before.flows.filter((f) => ids.has(f[FLOW_IX.id] as string)));
    expect(after.flows).toHaveLength(6);
    expect(after.l7).toEqual([]);
    expect(after.l7Aggregates).toEqual(before.l7Aggregates);
    // the endpoint table: the identities these refer to, once each
    const used = [
      ...after.flows.flatMap((f) => [f[FLOW_IX.sourceRef], f[FLOW_IX.destinationRef]]),
      ...after.l7Aggregates.flatMap((a) => [a.source, a.destination]),
    ];
    expect(after.endpoints).toHaveLength(new Set(used.filter(Boolean).map((e) => JSON.stringify(e))).size);
    expect(after).toMatchObject({ batchId: batch.batchId, sentAt: now, histograms: before.histograms, health: before.health });
    // a batch without records comes back as it is
    expect(compactBatch(c.body!).body).toBe(c.body);
    // and one of records only leaves nothing
    expect(compactBatch(prepareBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: t.flows }).body).body).toBeNull();
  });

  it('compacts a batch an earlier collector spooled in schema 5 (flows as rows) into one the server still takes', () => {
    const t = generateTraffic({ seed: 24, connections: 30, start: now - 60_000, end: now, l7Share: 0 });
    const kernelFlows = t.flows.slice(0, 3).map(packetDrop);
    const flows = [...t.flows, ...kernelFlows];
    const old = { ...encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows, l7Aggregates: aggregates(1, 5) }), schemaVersion: 5 };
    const body = Buffer.from(JSON.stringify(old));
    const c = compactBatch(body);
    expect(c).toMatchObject({ records: 30, aggregates: 4, exchanges: 5 });
    const after = resolved(c.body!);
    expect(after.schemaVersion).toBe(5);
    expect(after.flows).toEqual(resolved(body).flows.slice(30));
    expect(after.l7Aggregates).toEqual(resolved(body).l7Aggregates);
  });

  it('sheds records oldest first; past the bound with aggregates only, drops the oldest of those, counted exactly', () => {
    const dir = tempDir();
    const t = generateTraffic({ seed: 22, connections: 400, start: now - 60_000, end: now, l7Share: 0 });
    const batches = Array.from({ length: 12 }, (_, i) =>
      prepareBatch({
        batchId: crypto.randomUUID(),
        sentAt: now,
        flows: t.flows.slice(i * 30, (i + 1) * 30),
        l7Aggregates: aggregates(2, 100 * i),
        histograms: [histogram([i + 1])],
      }),
    );
    const small = compactBatch(batches[0]!.body).body!.length;
    // Room for about five aggregate-only batches: every record goes, then the oldest aggregates.
    const limit = small * 5.5;
    const spool = new Spool(dir, limit);
    for (const b of batches) spool.put(b);
    const s = spool.stats();
    expect(s.bytes).toBeLessThanOrEqual(limit);
    expect(s).toMatchObject({ shedBatches: 12, shedRecords: 12 * 30 });
    expect(s.droppedBatches).toBeGreaterThan(0);
    expect(s.files + s.droppedBatches).toBe(12);
    const dropped = batches.slice(0, s.droppedBatches);
    expect(s.droppedAggregates).toBe(2 * dropped.length);
    expect(s.droppedExchanges).toBe(dropped.reduce((a, _, i) => a + 200 * i + 1, 0));
    expect(s.droppedHistograms).toBe(dropped.length);
    // What is left: the newest batches, aggregate-only, under their batch ids, oldest first; a restart reads them so.
    const again = new Spool(dir, limit);
    const left: string[] = [];
    for (let next = again.next(); next; next = again.next()) left.push(next.batch.batchId);
    expect(left).toEqual(batches.slice(s.droppedBatches).map((b) => b.batchId));
    expect(again.peek()).toBeNull(); // all held
    expect(again.stats().files).toBe(s.files);
    expect(fs.readdirSync(dir).filter((f) => /^\d+-s2-/.test(f))).toHaveLength(s.files); // known compacted after a restart
  });

  it('leaves a batch a sender holds alone, and makes room from the others', () => {
    const dir = tempDir();
    const t = generateTraffic({ seed: 23, connections: 200, start: now - 60_000, end: now, l7Share: 0 });
    const batches = Array.from({ length: 4 }, (_, i) =>
      prepareBatch({
        batchId: crypto.randomUUID(),
        sentAt: now,
        flows: t.flows.slice(i * 50, (i + 1) * 50),
        l7Aggregates: aggregates(1, 7),
      }),
    );
    const spool = new Spool(dir, batches[0]!.body.length * 2.5);
    spool.put(batches[0]!);
    const held = spool.next();
    expect(held?.batch.batchId).toBe(batches[0]!.batchId);
    for (const b of batches.slice(1)) spool.put(b);
    // The held one is still whole on disk (the sender may remove it by its name), the next oldest compacted.
    expect(fs.readFileSync(path.join(dir, held!.name))).toEqual(batches[0]!.body);
    expect(spool.stats()).toMatchObject({ shedBatches: 2, shedRecords: 100, droppedBatches: 0, files: 4 });
    spool.remove(held!.name);
    expect(spool.stats().files).toBe(3);
  });
});
