/**
 * The connection drawer's exchanges on real PostgreSQL through the real HTTP path: the clicked exchange with
 * its details, the page of the connection's exchanges holding it, paging either side, and refusals.
 */
import { generateTraffic } from '@sextant/db/testing';
import { encodeBatch } from '@sextant/shared';
import type { Flow, L7Event } from '@sextant/shared';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
const now = Date.now();
const base = generateTraffic({ seed: 5, connections: 10, start: now - 20 * 60_000, end: now - 10 * 60_000, services: 3, namespaces: 1 });
const tmpl = base.flows.find((f) => f.closeReason === 'CLOSED') as Flow;
const t0 = now - 9 * 60_000;
const conn: Flow = { ...tmpl, id: crypto.randomUUID(), time: t0, endTime: t0 + 60_000 };
const other: Flow = { ...tmpl, id: crypto.randomUUID(), time: t0 };
// 120 exchanges on one keep-alive connection, 100 ms apart; #57 is the 502 someone clicks.
const exchanges: L7Event[] = Array.from({ length: 120 }, (_, i) => ({
  id: crypto.randomUUID(),
  flowId: conn.id,
  time: t0 + 100 * i,
  nodeName: 'n1',
  type: 'RESPONSE',
  protocol: 'http',
  latencyNs: 1_000_000 + i,
  source: tmpl.source,
  destination: tmpl.destination,
  http: {
    method: i === 57 ? 'POST' : 'GET',
    url: `http://shop/api/checkout?n=${i}`,
    path: '/api/checkout',
    protocol: 'HTTP/1.1',
    code: i === 57 ? 502 : 200,
    headers: [
      { key: 'Content-Type', value: 'application/json' },
      { key: 'Authorization', value: '[redacted]' },
    ],
    requestBytes: 300 + i,
    responseBytes: 900,
  },
}));
const dnsOnOther: L7Event = {
  id: crypto.randomUUID(),
  flowId: other.id,
  time: t0 + 5,
  nodeName: 'n1',
  type: 'RESPONSE',
  protocol: 'dns',
  source: tmpl.source,
  destination: tmpl.destination,
  dns: { query: 'db.shop.', qtypes: ['AAAA'], rcode: 3, ips: [], cnames: [], rrtypes: [], transport: 'udp' },
};
const clicked = exchanges[57] as L7Event;

beforeAll(async () => {
  h = await startHarness();
  await h
    .client(h.collectorToken)
    .ingest.push.mutate(
      encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: [conn, other], l7: [...exchanges, dnsOnOther] }),
    );
});
afterAll(async () => h?.close());

describe('drawer.exchanges', () => {
  it('returns the clicked exchange with its details and the page of exchanges around it', async () => {
    const r = await h.client(h.userToken).drawer.exchanges.query({ flowId: conn.id, time: clicked.time, eventId: clicked.id, limit: 20 });
    expect(r.total).toBe(120);
    expect(r.selectedIndex).toBe(57);
    expect(r.selected).toMatchObject({
      id: clicked.id,
      latencyNs: 1_000_057,
      http: {
        method: 'POST',
        url: 'http://shop/api/checkout?n=57',
        code: 502,
        requestBytes: 357,
        responseBytes: 900,
        headers: [
          { key: 'Content-Type', value: 'application/json' },
          { key: 'Authorization', value: '[redacted]' },
        ],
      },
    });
    // Centred: 10 before it, oldest first.
    expect(r.offset).toBe(47);
    expect(r.items.map((e) => e.id)).toEqual(exchanges.slice(47, 67).map((e) => e.id));
  });

  it('pages on either side and clamps at the ends', async () => {
    const c = h.client(h.userToken).drawer.exchanges;
    const first = await c.query({ flowId: conn.id, time: t0, eventId: clicked.id, offset: 0, limit: 50 });
    expect(first.offset).toBe(0);
    expect(first.items.map((e) => e.id)).toEqual(exchanges.slice(0, 50).map((e) => e.id));
    expect(first.selected?.id).toBe(clicked.id);
    const last = await c.query({ flowId: conn.id, time: t0, offset: 100, limit: 50 });
    expect(last.offset).toBe(70);
    expect(last.items).toHaveLength(50);
    expect(last.items.at(-1)?.id).toBe(exchanges[119]?.id);
    // Near the start the page begins at 0, not before.
    const early = await c.query({ flowId: conn.id, time: t0, eventId: exchanges[3]?.id, limit: 20 });
    expect(early.offset).toBe(0);
    expect(early.selectedIndex).toBe(3);
  });

  it('has no selection for an exchange of another connection or none stored, and keeps DNS details', async () => {
    const c = h.client(h.userToken).drawer.exchanges;
    const wrong = await c.query({ flowId: conn.id, time: t0, eventId: dnsOnOther.id, limit: 10 });
    expect(wrong.selected).toBeNull();
    expect(wrong.selectedIndex).toBeNull();
    expect(wrong.offset).toBe(0);
    const none = await c.query({ flowId: crypto.randomUUID(), time: t0, limit: 10 });
    expect(none).toEqual({ selected: null, items: [], offset: 0, total: 0, selectedIndex: null });
    const dns = await c.query({ flowId: other.id, time: t0, eventId: dnsOnOther.id, limit: 10 });
    expect(dns.selected?.dns).toMatchObject({ query: 'db.shop.', qtypes: ['AAAA'], rcode: 3 });
  });

  it('refuses bad ids and anonymous callers', async () => {
    const bad = await h
      .client(h.userToken)
      .drawer.exchanges.query({ flowId: 'nope', time: t0, limit: 10 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(TRPCClientError);
    expect((bad as { data?: { httpStatus?: number } }).data?.httpStatus).toBe(400);
    const anon = await h
      .client(null)
      .drawer.exchanges.query({ flowId: conn.id, time: t0, limit: 10 })
      .catch((e: unknown) => e);
    expect((anon as { data?: { httpStatus?: number } }).data?.httpStatus).toBe(401);
  });
});
