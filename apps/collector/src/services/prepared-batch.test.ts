import { generateTraffic } from '@sextant/db/testing';
import { BatchEncoder, encodeFlowRows, IngestBatch, type HistogramSample } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { prepareBatch } from './prepared-batch';

const now = Date.now();
// Enough flows and L7 events that their arrays are serialized in many slices.
const t = generateTraffic({ seed: 9, connections: 3_000, start: now - 60_000, end: now, services: 30 });
const histograms: HistogramSample[] = [{ kind: 'tcp_connect', windowStart: now - 10_000, windowSeconds: 10, nodeName: 'node-a', sourceService: 'a', sourceNamespace: '', destinationService: 'b', destinationNamespace: '', idx: [3, 4], cnt: [1, 2] }];
const health = { time: now, version: '0.1.0', kernel: '6.18', hostname: 'node-a', eventsPerSecond: 5, lostEvents: 0, parsedBytes: 0, unparsedBytes: 0, spoolBytes: 0 };
const content = { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7, histograms, health };

describe('prepareBatch', () => {
  it('writes exactly the JSON of the batch object, slice by slice (v1)', () => {
    expect(t.flows.length).toBeGreaterThan(2_000);
    const p = prepareBatch(content, { version: 1 });
    expect(p.body.toString()).toBe(JSON.stringify({ schemaVersion: 1, ...content }));
    expect(p.records).toBe(t.flows.length + t.l7.length);
  });

  it('writes exactly the JSON of the compact batch (v2), which parses into the same batch as v1', () => {
    const p = prepareBatch(content, { version: 2, nodeName: 'node-a' });
    const compact = { schemaVersion: 2, batchId: content.batchId, sentAt: now, nodeName: 'node-a', ...encodeFlowRows(t.flows, 'node-a'), l7: t.l7, histograms, health };
    expect(p.body.toString()).toBe(JSON.stringify(compact));
    expect(IngestBatch.parse(JSON.parse(p.body.toString()))).toEqual(IngestBatch.parse({ schemaVersion: 1, ...content }));
  });

  it('writes exactly the JSON of the v3 batch (L7 endpoints as refs too, the default), which parses into the same batch as v1', () => {
    const p = prepareBatch(content, { nodeName: 'node-a' });
    const enc = new BatchEncoder('node-a');
    for (const f of t.flows) enc.addFlow(f);
    const l7 = t.l7.map((e) => enc.l7(e));
    const compact = { schemaVersion: 3, batchId: content.batchId, sentAt: now, nodeName: 'node-a', endpoints: enc.endpoints, flows: enc.rows, l7, histograms, health };
    expect(p.body.toString()).toBe(JSON.stringify(compact));
    expect(IngestBatch.parse(JSON.parse(p.body.toString()))).toEqual(IngestBatch.parse({ schemaVersion: 1, ...content }));
    expect(p.body.length / prepareBatch(content, { version: 2, nodeName: 'node-a' }).body.length).toBeLessThan(0.8);
  });

  it('keeps non-ASCII text intact across slice boundaries and writes empty arrays', () => {
    const flows = t.flows.slice(0, 500).map((f, i) => ({ ...f, source: { ...f.source, service: `dienst-ü-${i}-服务` } }));
    const p = prepareBatch({ batchId: content.batchId, sentAt: now, flows, l7: [] }, { version: 1 });
    expect(p.body.toString('utf8')).toBe(JSON.stringify({ schemaVersion: 1, batchId: content.batchId, sentAt: now, flows, l7: [] }));
    const empty = prepareBatch({ batchId: content.batchId, sentAt: now, flows: [] });
    expect(JSON.parse(empty.body.toString())).toEqual({ schemaVersion: 3, batchId: content.batchId, sentAt: now, nodeName: '', endpoints: [], flows: [] });
  });
});
