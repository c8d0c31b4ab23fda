/**
 * Poison input through the real API on real PostgreSQL: NUL bytes and lone surrogates are stored replaced
 * and marked, never cost a batch; boundary values are 400s that store nothing; records outside the ingest
 * window are left out one by one and counted, and create no partition.
 */
import { generateTraffic } from '@sextant/db/testing';
import { BatchEncoder, encodeBatch, FLOW_IX, SANITIZED_LABEL, toHubbleJsonLine, type FlowInput, type L7EventInput } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TailInput } from './routers/flows';
import { rejection, startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const now = Date.now();
const DAY = 86_400_000;

/** 6 flows and 6 L7 events of ordinary traffic from the last half hour. */
function records(seed: number): { flows: FlowInput[]; l7: L7EventInput[] } {
  const t = generateTraffic({ seed, connections: 40, start: now - 30 * 60_000, end: now - 60_000, services: 5 });
  return { flows: t.flows.slice(0, 6), l7: t.l7.filter((e) => e.protocol === 'http').slice(0, 6) };
}

async function query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await h.db.pool.query(sql, params)).rows as T[];
}
const count = async (sql: string, params: unknown[] = []) => Number((await query<{ n: string }>(sql, params))[0]?.n);

const labelled = (rows: { src_extra: { labels?: string[] } | null }[]) =>
  rows.filter((r) => r.src_extra?.labels?.includes(SANITIZED_LABEL)).length;

describe('poison text', () => {
  it('stores all 12 records of a batch with a NUL in a URL and a lone surrogate in a process name, replaced and marked', async () => {
    const { flows, l7 } = records(1);
    const e = l7[2]!;
    e.http = { ...e.http!, url: 'GET /x\u0000y', path: '/x\u0000y' };
    flows[4]!.source = { ...flows[4]!.source, process: { pid: 4242, name: 'bad\uD800name' } };
    const b = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows, l7 });
    const res = await h.client(h.collectorToken).ingest.push.mutate(b);
    expect(res).toMatchObject({ stored: true, flows: 6, l7: 6, rejected: { tooOld: 0, tooNew: 0 } });
    const f = await query<{ flow_id: string; src_process: string; src_extra: { labels?: string[] } | null }>(
      'SELECT flow_id, src_process, src_extra FROM flows WHERE batch_id = $1',
      [b.batchId],
    );
    const ev = await query<{ event_id: string; http_path: string; detail: { url: string }; src_extra: { labels?: string[] } | null }>(
      'SELECT event_id, http_path, detail, src_extra FROM l7_events WHERE batch_id = $1',
      [b.batchId],
    );
    expect(f.length + ev.length).toBe(12);
    expect(f.find((r) => r.flow_id === flows[4]!.id)).toMatchObject({
      src_process: 'bad\uFFFDname',
      src_extra: { labels: expect.arrayContaining([SANITIZED_LABEL]) },
    });
    expect(ev.find((r) => r.event_id === e.id)).toMatchObject({ http_path: '/x\uFFFDy', detail: { url: 'GET /x\uFFFDy' } });
    expect(labelled(f) + labelled(ev)).toBe(2);
    expect(await (await fetch(`${h.server.url}/api/metrics`)).text()).toMatch(/^sextant_ingest_records_sanitized_total [1-9]/m);
  });

  it('stores batches whose endpoint table holds a poisoned identity, marking the records built on it', async () => {
    const { flows, l7 } = records(2);
    flows[0]!.source = { ...flows[0]!.source, service: 'svc\u0000', process: { pid: 1, name: 'p\uDC00' } };
    const enc = new BatchEncoder('node-a');
    for (const f of flows) enc.addFlow(f);
    const b = {
      schemaVersion: 5 as const,
      batchId: crypto.randomUUID(),
      sentAt: now,
      nodeName: 'node-a',
      endpoints: enc.endpoints,
      flows: enc.rows,
      l7: l7.map((x) => enc.l7(x)),
    };
    expect((await h.client(h.collectorToken).ingest.push.mutate(b)).stored).toBe(true);
    const f = await query<{ src_service: string; src_extra: { labels?: string[] } | null }>(
      'SELECT src_service, src_extra FROM flows WHERE batch_id = $1',
      [b.batchId],
    );
    expect(f).toHaveLength(6);
    expect(f.filter((r) => r.src_service === 'svc\uFFFD')).toHaveLength(1);
    expect(labelled(f)).toBe(1);
    expect(await count('SELECT count(*) AS n FROM l7_events WHERE batch_id = $1', [b.batchId])).toBe(6);
  });

  it('register and health reports with NUL and lone surrogates are stored replaced, health marked', async () => {
    const c = h.client(h.collectorToken);
    await c.ingest.register.mutate({ hostname: 'host\u0000a', version: '1\uD800', kernel: '6.1' });
    const health = {
      time: now,
      version: 'v\u0000',
      kernel: 'k',
      hostname: 'host\u0000a',
      eventsPerSecond: 1,
      lostEvents: 0,
      details: { 'odd\uDC00': 'x\u0000' },
    };
    const b = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, health });
    expect((await c.ingest.push.mutate(b)).stored).toBe(true);
    const [row] = await query<{ hostname: string; last_health: Record<string, unknown> }>(
      'SELECT hostname, last_health FROM collectors WHERE id = $1',
      [h.collectorId],
    );
    expect(row).toMatchObject({
      hostname: 'host\uFFFDa',
      last_health: { version: 'v\uFFFD', sanitized: true, details: { 'odd\uFFFD': 'x\uFFFD' } },
    });
    expect(
      await count("SELECT count(*) AS n FROM collector_health WHERE collector_id = $1 AND report->>'sanitized' = 'true'", [h.collectorId]),
    ).toBe(1);
  });

  it('imports Hubble lines with NUL and lone surrogates, replaced and marked', async () => {
    const { flows, l7 } = records(3);
    const e = { ...l7[0]!, http: { ...l7[0]!.http!, url: 'http://api/x\u0000y' }, nodeName: 'hubble-poison' };
    const f = { ...flows[0]!, nodeName: 'hubble-poison', source: { ...flows[0]!.source, namespace: 'ns\uD800' } };
    const lines = [toHubbleJsonLine(e as never), toHubbleJsonLine(f as never)];
    expect(lines.join('')).toContain('\\u0000');
    const r = await h.client(h.userToken).hubble.import.mutate({ lines });
    expect(r).toMatchObject({ stored: true, flows: 1, l7: 1 });
    const ev = await query<{ detail: { url: string }; src_extra: { labels?: string[] } | null }>(
      `SELECT detail, src_extra FROM l7_events WHERE node_name = 'hubble-poison'`,
    );
    const fl = await query<{ src_namespace: string; src_extra: { labels?: string[] } | null }>(
      `SELECT src_namespace, src_extra FROM flows WHERE node_name = 'hubble-poison'`,
    );
    expect(ev[0]?.detail.url).toBe('http://api/x\uFFFDy');
    expect(fl[0]?.src_namespace).toBe('ns\uFFFD');
    expect(labelled(ev) + labelled(fl)).toBe(2);
  });
});

describe('boundary values', () => {
  const base = () => records(20);
  const cases: [string, (b: { flows: FlowInput[]; l7: L7EventInput[] }) => Record<string, unknown>, RegExp][] = [
    [
      'pid 2^40',
      (b) => ({
        flows: [{ ...b.flows[0]!, source: { ...b.flows[0]!.source, process: { pid: 2 ** 40, name: 'x' } } }, ...b.flows.slice(1)],
      }),
      /endpoints\.\d+\.process\.pid/,
    ],
    [
      'histogram windowStart 1e20',
      () => ({
        histograms: [
          {
            kind: 'tcp_connect',
            windowStart: 1e20,
            windowSeconds: 60,
            nodeName: 'n',
            sourceService: 'a',
            destinationService: 'b',
            idx: [1],
            cnt: [1],
          },
        ],
      }),
      /histograms\.0\.windowStart/,
    ],
    [
      'health.time 1e20',
      () => ({ health: { time: 1e20, version: '1', kernel: 'k', hostname: 'h', eventsPerSecond: 0, lostEvents: 0 } }),
      /health\.time/,
    ],
    [
      'a flow in year 10000',
      (b) => ({ flows: [{ ...b.flows[0]!, time: Date.UTC(10000, 0, 1) }] }),
      new RegExp(`flows\\.0\\.${FLOW_IX.time}\\b`),
    ],
    ['the Date maximum 8.64e15', (b) => ({ l7: [{ ...b.l7[0]!, time: 8.64e15 }] }), /l7\.0\.time/],
    [
      'a histogram count past 2^53',
      () => ({
        histograms: [
          {
            kind: 'tcp_connect',
            windowStart: now,
            windowSeconds: 60,
            nodeName: 'n',
            sourceService: 'a',
            destinationService: 'b',
            idx: [1],
            cnt: [2 ** 60],
          },
        ],
      }),
      /histograms\.0\.cnt\.0/,
    ],
    [
      'a DNS TTL past 2^31',
      (b) => ({ l7: [{ ...b.l7[0]!, protocol: 'dns', http: undefined, dns: { query: 'a.example', ttl: 2 ** 40 } }] }),
      /l7\.0\.dns\.ttl/,
    ],
  ];
  for (const [name, poison, path] of cases) {
    it(`answers 400 naming the path for ${name}, and stores nothing of the batch`, async () => {
      const b = base();
      const batch = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: b.flows, l7: b.l7, ...poison(b) });
      const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(batch));
      expect(err.data?.httpStatus).toBe(400);
      expect(err.message).toMatch(path);
      expect(await count('SELECT count(*) AS n FROM ingest_receipts WHERE batch_id = $1', [batch.batchId])).toBe(0);
      expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [batch.batchId])).toBe(0);
    });
  }

  it("answers 400 for register values past their bounds (a health report's: health.time 1e20 above)", async () => {
    const c = h.client(h.collectorToken);
    expect((await rejection(c.ingest.register.mutate({ hostname: 'h'.repeat(254), version: '1', kernel: 'k' }))).data?.httpStatus).toBe(
      400,
    );
  });

  it('answers 400 for search windows past year 9999', async () => {
    const err = await rejection(h.client(h.userToken).flows.search.query({ window: { since: 1e300, until: 2e300 } }));
    expect(err.data?.httpStatus).toBe(400);
    expect(err.message).toMatch(/window\.since/);
  });

  it('answers 400 for a connection detail at time 1e300 and refuses tail positions past bigint', async () => {
    const err = await rejection(h.client(h.userToken).flows.detail.query({ flowId: crypto.randomUUID(), time: 1e300 }));
    expect(err.data?.httpStatus).toBe(400);
    expect(TailInput.safeParse({ lastEventId: 'l|12|9223372036854775807' }).success).toBe(true);
    expect(TailInput.safeParse({ lastEventId: 'l|12|9223372036854775808' }).success).toBe(false);
    expect(TailInput.safeParse({ lastEventId: 'l|18446744073709551616|1' }).success).toBe(false);
    expect(TailInput.safeParse({ since: 8.64e15 }).success).toBe(false);
  });

  it("answers a database data error 400 with a short message, never PostgreSQL's own", async () => {
    // Each flow is valid, but their bytes summed into one edge minute overflow the rollup's bigint.
    const f = records(21).flows[0]!;
    const flows = Array.from({ length: 1100 }, () => ({ ...f, id: crypto.randomUUID(), bytesSent: Number.MAX_SAFE_INTEGER }));
    const batch = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows });
    const err = await rejection(h.client(h.collectorToken).ingest.push.mutate(batch));
    expect(err.data?.httpStatus).toBe(400);
    expect(err.message).toMatch(/^batch not stored: the database refused a value: .* \(SQLSTATE 22\w{3}\)$/);
    expect(err.message).not.toMatch(/bigint|out of range for type/);
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [batch.batchId])).toBe(0);
  });
});

describe('ingest window', () => {
  it('leaves out records before now − retention and after now + 10 min, counts them, stores the rest and creates no partition', async () => {
    const c = h.client(h.collectorToken);
    const { flows, l7 } = records(30);
    const partitions = () =>
      count(
        `SELECT count(*) AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname IN ('flows', 'l7_events', 'edge_minute', 'edge_hour', 'latency_minute')`,
      );
    // The in-window days' partitions exist already (made by a batch of the same times), so none may appear.
    await c.ingest.push.mutate(encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: records(32).flows, l7: records(32).l7 }));
    const before = await partitions();
    const old = flows.slice(0, 3).map((f, i) => ({ ...f, time: now - (8 + i) * DAY }));
    const future = [
      ...flows.slice(3, 5).map((f, i) => ({ ...f, time: now + (1 + i * 200) * DAY })),
      { ...flows[5]!, time: now + 11 * 60_000 },
    ];
    const lateL7 = l7.slice(0, 2).map((e, i) => ({ ...e, time: now + (30 + i) * DAY }));
    const b = encodeBatch({
      batchId: crypto.randomUUID(),
      sentAt: now,
      flows: [...old, ...future, ...records(31).flows],
      l7: [...lateL7, ...l7.slice(2)],
    });
    const res = await c.ingest.push.mutate(b);
    expect(res).toMatchObject({ stored: true, flows: 6, l7: 4, rejected: { tooOld: 3, tooNew: 5 } });
    expect(await count('SELECT count(*) AS n FROM flows WHERE batch_id = $1', [b.batchId])).toBe(6);
    expect(await count('SELECT count(*) AS n FROM l7_events WHERE batch_id = $1', [b.batchId])).toBe(4);
    expect(await partitions()).toBe(before);
    const metrics = await (await fetch(`${h.server.url}/api/metrics`)).text();
    expect(metrics).toMatch(/^sextant_ingest_records_rejected_total\{reason="too_old"\} 3$/m);
    expect(metrics).toMatch(/^sextant_ingest_records_rejected_total\{reason="too_new"\} 5$/m);
  });
});
