/**
 * The UI's reads on real PostgreSQL through the real HTTP path: the live tail as server-sent events (event
 * ids resume a reconnect exactly after the last record), one connection's detail (L4 row, L7 exchanges joined
 * by flow id, TCP stats) and the dashboard panels, each checked against hand-built ground truth.
 */
import { generateTraffic } from '@sextant/db/testing';
import { encodeBatch } from '@sextant/shared';
import type { Flow, L7Event } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/api-harness';
import { type SseEvent, sseEvents, tailRecordId } from './testing/sse';

let h: Harness;
const now = Date.now();
const base = generateTraffic({ seed: 11, connections: 60, start: now - 20 * 60_000, end: now - 10 * 60_000, services: 5, namespaces: 1 });
const tmpl = base.flows.find((f) => f.closeReason === 'CLOSED') as Flow;
const l7tmpl = base.l7[0] as L7Event;
let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

function flow(over: Partial<Flow>): Flow {
  return { ...tmpl, id: uuid(), ...over };
}
function dns(time: number, rcode: number, flowId: string): L7Event {
  return {
    id: uuid(),
    flowId,
    time,
    nodeName: 'n1',
    type: 'RESPONSE',
    protocol: 'dns',
    source: tmpl.source,
    destination: tmpl.destination,
    dns: { query: 'db.example.', qtypes: ['A'], rcode, ips: [], cnames: [], rrtypes: [], transport: 'udp' },
  };
}
function kafka(time: number, topic: string, flowId: string): L7Event {
  return {
    id: uuid(),
    flowId,
    time,
    nodeName: 'n1',
    type: 'RESPONSE',
    protocol: 'kafka',
    source: tmpl.source,
    destination: tmpl.destination,
    kafka: { apiKey: 'Produce', apiVersion: 9, correlationId: n, topic },
  };
}

const t0 = now - 8 * 60_000;
const special = {
  reset: [flow({ time: t0, closeReason: 'RESET', retransmits: 3 }), flow({ time: t0 + 1000, closeReason: 'RESET', retransmits: 0 })],
  failed: [
    flow({ time: t0 + 2000, closeReason: 'REFUSED', retransmits: 0 }),
    flow({ time: t0 + 3000, closeReason: 'TIMEOUT', retransmits: 1 }),
    flow({ time: t0 + 3500, closeReason: 'REFUSED', retransmits: 0 }),
  ],
  drops: [
    flow({
      time: t0 + 4000,
      verdict: 'DROPPED',
      dropReason: 'NO_SOCKET',
      l4Protocol: 'UDP',
      closeReason: 'NONE',
      packetsSent: 2,
      packetsReceived: 0,
      retransmits: 0,
    }),
    flow({
      time: t0 + 4100,
      verdict: 'DROPPED',
      dropReason: 'NETFILTER_DROP',
      l4Protocol: 'UDP',
      closeReason: 'NONE',
      packetsSent: 1,
      packetsReceived: 0,
      retransmits: 0,
    }),
    flow({
      time: t0 + 4200,
      verdict: 'DROPPED',
      dropReason: 'NO_SOCKET',
      l4Protocol: 'UDP',
      closeReason: 'NONE',
      packetsSent: 1,
      packetsReceived: 0,
      retransmits: 0,
    }),
  ],
};
const conn = flow({ time: t0 + 5000, endTime: t0 + 9000, retransmits: 2, srttUs: 321, bytesSent: 1000, bytesReceived: 5000 });
const l7extra = [
  dns(t0 + 100, 0, conn.id),
  dns(t0 + 200, 3, conn.id),
  dns(t0 + 300, 3, conn.id),
  dns(t0 + 400, 2, conn.id),
  kafka(t0 + 500, 'orders', conn.id),
  kafka(t0 + 600, 'orders', conn.id),
  kafka(t0 + 700, 'audit', conn.id),
];
const exchanges = [5100, 5200, 5300].map((d) => ({ ...l7tmpl, id: uuid(), flowId: conn.id, time: t0 + d }));
const extraFlows = [...special.reset, ...special.failed, ...special.drops, conn];

beforeAll(async () => {
  h = await startHarness();
  const c = h.client(h.collectorToken);
  await c.ingest.push.mutate(
    encodeBatch({
      batchId: crypto.randomUUID(),
      sentAt: Date.now(),
      flows: [...base.flows, ...extraFlows],
      l7: [...base.l7, ...l7extra, ...exchanges],
    }),
  );
});
afterAll(async () => h?.close());

/** Reads server-sent events from the tail endpoint until `count` data events arrived (or 10 s passed). */
async function readTail(input: Record<string, unknown>, count: number): Promise<SseEvent[]> {
  const ac = new AbortController();
  const url = `${h.server.url}/api/trpc/flows.tail?input=${encodeURIComponent(JSON.stringify(input))}`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${h.userToken}`, accept: 'text/event-stream' }, signal: ac.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const out: SseEvent[] = [];
  const timer = setTimeout(() => ac.abort(), 10_000);
  try {
    for await (const ev of sseEvents(res.body as ReadableStream<Uint8Array>)) {
      if (ev.type === 'message' && ev.id) out.push(ev);
      if (out.length >= count) break;
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out.slice(0, count);
}

describe('live tail over SSE', () => {
  const filter = { allow: [{ destinationService: [tmpl.destination.service as string] }], deny: [] };
  const expected = [...base.flows, ...extraFlows, ...base.l7, ...l7extra, ...exchanges]
    .filter((r) => r.destination.service === tmpl.destination.service)
    .map((r) => ({ id: r.id, t: r.time }))
    .sort((a, b) => a.t - b.t || a.id.localeCompare(b.id));

  it('streams the stored records after `since` oldest first, and resumes after the last event id', async () => {
    expect(expected.length).toBeGreaterThan(6);
    const first = await readTail({ filter, since: now - 30 * 60_000 }, 4);
    expect(first.map((e) => tailRecordId(e.data))).toEqual(expected.slice(0, 4).map((e) => e.id));
    for (const e of first) expect(e.id).toMatch(/^h\|\d+\|\d+\|[0-9a-f-]{36}\|\d+$/);
    // Reconnect with the last id seen: the stream continues with the fifth record, nothing repeated.
    const rest = await readTail({ filter, since: now - 30 * 60_000, lastEventId: first[3]?.id }, expected.length - 4);
    expect(rest.map((e) => tailRecordId(e.data))).toEqual(expected.slice(4).map((e) => e.id));
  });

  it('delivers a record ingested while subscribed within a couple of seconds', async () => {
    const late = flow({ time: Date.now() - 500 });
    const started = Date.now();
    const pending = readTail({ filter, since: Date.now() - 2000 }, 1);
    await new Promise((r) => setTimeout(r, 300));
    await h
      .client(h.collectorToken)
      .ingest.push.mutate(encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: [late], l7: [] }));
    const got = await pending;
    expect(got.map((e) => tailRecordId(e.data))).toEqual([late.id]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects a malformed lastEventId with a clear message', async () => {
    const res = await fetch(`${h.server.url}/api/trpc/flows.tail?input=${encodeURIComponent(JSON.stringify({ lastEventId: 'nope' }))}`, {
      headers: { authorization: `Bearer ${h.userToken}` },
    });
    const text = await res.text();
    expect(text).toContain('lastEventId');
  });
});

describe('connection detail', () => {
  it('returns the L4 record, its L7 exchanges in order and the TCP stats', async () => {
    const d = await h.client(h.userToken).flows.detail.query({ flowId: conn.id, time: conn.time });
    expect(d.flow?.id).toBe(conn.id);
    expect(d.l7.map((e) => e.id)).toEqual([...l7extra, ...exchanges].map((e) => e.id));
    expect(d.tcp).toMatchObject({
      retransmits: 2,
      srttUs: 321,
      bytesSent: 1000,
      bytesReceived: 5000,
      closeReason: 'CLOSED',
      durationMs: 4000,
      updates: 1,
    });
  });
  it('an unknown flow gives an empty detail, a bad id a validation error', async () => {
    const d = await h.client(h.userToken).flows.detail.query({ flowId: '00000000-0000-4000-8000-999999999999', time: now });
    expect(d).toEqual({ flow: null, l7: [], tcp: null });
    await expect(h.client(h.userToken).flows.detail.query({ flowId: 'x', time: now })).rejects.toThrow(/flowId/);
  });
});

describe('dashboard panels', () => {
  it('counts DNS by rcode, Kafka by topic, TCP resets / failed connects / retransmits and drops by reason', async () => {
    const p = await h.client(h.userToken).dashboards.panels.query({ window: { since: now - 30 * 60_000, until: now } });
    const totals = (s: { key: string; total: number }[]) => Object.fromEntries(s.map((x) => [x.key, x.total]));
    expect(totals(p.dns.series)).toEqual({ NOERROR: 1, NXDOMAIN: 2, SERVFAIL: 1 });
    expect(totals(p.kafka.series)).toEqual({ orders: 2, audit: 1 });
    const all = [...base.flows, ...extraFlows].filter((f) => f.l4Protocol === 'TCP' && f.final);
    expect(totals(p.tcp.series)).toEqual({
      retransmits: all.reduce((a, f) => a + f.retransmits, 0),
      resets: all.filter((f) => f.closeReason === 'RESET').length,
      'failed connects': all.filter((f) => f.closeReason === 'REFUSED' || f.closeReason === 'TIMEOUT').length,
    });
    expect(totals(p.drops.series)).toEqual({ NO_SOCKET: 3, NETFILTER_DROP: 1 });
    expect(p.talkers.length).toBeGreaterThan(0);
    for (let i = 1; i < p.talkers.length; i++)
      expect((p.talkers[i - 1] as { bytes: number }).bytes).toBeGreaterThanOrEqual((p.talkers[i] as { bytes: number }).bytes);
  });
  it('restricted to one service, counts only its traffic', async () => {
    const svc = tmpl.destination.service as string;
    const p = await h.client(h.userToken).dashboards.panels.query({
      window: { since: now - 30 * 60_000, until: now },
      service: svc,
      namespace: tmpl.destination.namespace ?? '',
    });
    const resets = [...base.flows, ...extraFlows].filter(
      (f) => f.final && f.closeReason === 'RESET' && (f.source.service === svc || f.destination.service === svc),
    ).length;
    expect(p.tcp.series.find((s) => s.key === 'resets')?.total).toBe(resets);
    for (const t of p.talkers) expect(t.source.endsWith(svc) || t.destination.endsWith(svc)).toBe(true);
  });
});
