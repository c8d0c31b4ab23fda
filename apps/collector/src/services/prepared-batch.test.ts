import { generateTraffic } from '@sextant/db/testing';
import {
  BatchEncoder,
  CollectorHealthReport,
  decodeFlowRows,
  encodeFlowColumns,
  decodeL7Rows,
  Flow,
  IngestBatch,
  L7Event,
  toMicrosecond,
  type FlowInput,
  type HistogramSample,
  type L7EventInput,
} from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { prepareBatch } from './prepared-batch';

const now = Date.now();
// Enough flows and L7 events that their arrays are serialized in many slices.
const t = generateTraffic({ seed: 9, connections: 3_000, start: now - 60_000, end: now, services: 30 });
const histograms: HistogramSample[] = [
  {
    kind: 'tcp_connect',
    windowStart: now - 10_000,
    windowSeconds: 10,
    nodeName: 'node-a',
    sourceService: 'a',
    sourceNamespace: '',
    destinationService: 'b',
    destinationNamespace: '',
    idx: [3, 4],
    cnt: [1, 2],
  },
];
const health = {
  time: now,
  version: '0.1.0',
  kernel: '6.18',
  hostname: 'node-a',
  eventsPerSecond: 5,
  lostEvents: 0,
  parsedBytes: 0,
  unparsedBytes: 0,
  spoolBytes: 0,
};
const content = { batchId: crypto.randomUUID(), sentAt: now, flows: t.flows, l7: t.l7, histograms, health };

function compact(
  c: { batchId: string; sentAt: number; flows: FlowInput[]; l7?: L7EventInput[]; histograms?: HistogramSample[]; health?: typeof health },
  nodeName: string,
) {
  const enc = new BatchEncoder(nodeName);
  for (const f of c.flows) enc.addFlow(f);
  const l7 = c.l7?.map((e) => enc.l7(e));
  return {
    schemaVersion: 6,
    batchId: c.batchId,
    sentAt: c.sentAt,
    nodeName,
    endpoints: enc.endpoints,
    ...(enc.rows.length ? { flowColumns: encodeFlowColumns(enc.rows) } : {}),
    ...(l7 ? { l7 } : {}),
    ...(c.histograms ? { histograms: c.histograms } : {}),
    ...(c.health ? { health: c.health } : {}),
  };
}

describe('prepareBatch', () => {
  it('writes exactly the JSON of the batch (flow columns, L7 endpoints as refs), slice by slice, which decodes into the records it was given', () => {
    expect(t.flows.length).toBeGreaterThan(2_000);
    const p = prepareBatch(content, { nodeName: 'node-a' });
    expect(p.body.toString()).toBe(JSON.stringify(compact(content, 'node-a')));
    expect(p.records).toBe(t.flows.length + t.l7.length);
    const b = IngestBatch.parse(JSON.parse(p.body.toString()));
    // (times arrive at the microsecond, what storage keeps)
    const atMicrosecond = (f: FlowInput) => ({
      ...f,
      time: toMicrosecond(f.time),
      endTime: f.endTime === undefined ? undefined : toMicrosecond(f.endTime),
    });
    expect(decodeFlowRows(b.flows, b.endpoints, b.nodeName)).toEqual(t.flows.map((f) => Flow.parse(atMicrosecond(f))));
    expect(decodeL7Rows(b.l7, b.endpoints)).toEqual(t.l7.map((e) => L7Event.parse(e)));
    expect({ histograms: b.histograms, health: b.health }).toEqual({ histograms, health: CollectorHealthReport.parse(health) });
    // What the compact form is for: a fraction of the records' bytes as objects (generated traffic has few
    // identities per endpoint; a collector's repeat far more, see wire-compact.test.ts).
    expect(p.body.length / JSON.stringify(content).length).toBeLessThan(0.7);
  });

  it('keeps non-ASCII text intact across slice boundaries and writes empty arrays', () => {
    const flows = t.flows.slice(0, 500).map((f, i) => ({ ...f, source: { ...f.source, service: `dienst-ü-${i}-服务` } }));
    const p = prepareBatch({ batchId: content.batchId, sentAt: now, flows, l7: [] }, { nodeName: 'node-a' });
    expect(p.body.toString('utf8')).toBe(JSON.stringify(compact({ batchId: content.batchId, sentAt: now, flows, l7: [] }, 'node-a')));
    const empty = prepareBatch({ batchId: content.batchId, sentAt: now, flows: [] });
    expect(JSON.parse(empty.body.toString())).toEqual({
      schemaVersion: 6,
      batchId: content.batchId,
      sentAt: now,
      nodeName: '',
      endpoints: [],
    });
  });
});
