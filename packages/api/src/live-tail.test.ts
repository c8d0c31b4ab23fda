/**
 * The live tail under load, on the real stack: a real HTTP server over real PostgreSQL, records stored through
 * the real ingest (tRPC ingest.push, COPY) at ≥ 2,000 records/s by concurrent senders — so batches commit out
 * of order — including late batches whose records are a minute older than records already delivered.
 * The subscription, read as server-sent events and reconnected halfway with its last event id, must deliver
 * every record exactly once, batch by batch in ingest order (each batch's flows, then its L7 events, as sent),
 * with a bounded number of database reads.
 */
import { createCollectorToken, createUser, login, tailStats } from '@sextant/db';
import { encodeBatch } from '@sextant/shared';
import { createTestDatabase, generateTraffic, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import type { Flow, L7Event } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestSignal } from './live';
import { startStandaloneServer, type StandaloneServer } from './standalone';
import { trpcClient } from './testing/api-harness';
import { sseEvents, tailRecordId } from './testing/sse';
import { SEXTANT_VERSION } from './version';

let db: TestDatabase;
let server: StandaloneServer;
let collectorToken: string;
let userToken: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  // As in the web app: a stored batch wakes this process's subscribers.
  server = await startStandaloneServer({ db, version: SEXTANT_VERSION, onIngest: () => ingestSignal.notify() });
  collectorToken = (await createCollectorToken(db.prisma, 'tail-host')).token;
  await createUser(db.prisma, 'tail@example.com', 'correct horse battery staple', 'viewer');
  userToken = (await login(db.prisma, 'tail@example.com', 'correct horse battery staple'))?.token ?? '';
});
afterAll(async () => {
  await server?.close();
  await db?.close();
});

const tmpl = generateTraffic({ seed: 5, connections: 20, start: Date.now() - 60_000, end: Date.now(), services: 3, namespaces: 1 });
const flowTmpl = tmpl.flows[0] as Flow;
const l7Tmpl = tmpl.l7[0] as L7Event;

/** A tail subscription read as server-sent events; `stop()` closes it like a dropped connection. */
function subscribe(input: Record<string, unknown>) {
  const ac = new AbortController();
  const events: { id: string; recordId: string }[] = [];
  const url = `${server.url}/api/trpc/flows.tail?input=${encodeURIComponent(JSON.stringify(input))}`;
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${userToken}`, accept: 'text/event-stream' }, signal: ac.signal });
    for await (const ev of sseEvents(res.body as ReadableStream<Uint8Array>)) {
      if (ev.type !== 'message' || !ev.id) continue;
      events.push({ id: ev.id, recordId: tailRecordId(ev.data) });
    }
  })().catch((err: unknown) => {
    if (!ac.signal.aborted) throw err;
  });
  return { events, stop: () => ac.abort(), done };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** (xid, seq) of a live event id, compared as numbers. */
function order(id: string): [bigint, bigint] {
  const [phase, xid, seq] = id.split('|');
  expect(phase).toBe('l');
  return [BigInt(xid as string), BigInt(seq as string)];
}

describe('live tail at ≥ 2,000 records/s with late batches and a reconnect', () => {
  it('delivers every record exactly once, batch by batch in ingest order, with bounded database reads', async () => {
    const collector = trpcClient(server.url, collectorToken);
    const batches: string[][] = []; // record ids of each stored batch, in the documented order
    const push = async (time: number, nFlows: number, nL7: number) => {
      const flows = Array.from({ length: nFlows }, (_, k) => ({ ...flowTmpl, id: crypto.randomUUID(), time: time + k }));
      const l7 = Array.from({ length: nL7 }, (_, k) => ({
        ...l7Tmpl,
        id: crypto.randomUUID(),
        flowId: flows[k % nFlows]?.id ?? l7Tmpl.flowId,
        time: time + k,
      }));
      const res = await collector.ingest.push.mutate(encodeBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows, l7 }));
      expect(res.stored).toBe(true);
      batches.push([...flows.map((f) => f.id), ...l7.map((e) => e.id)]);
    };

    // Subscribe with no history, then wait for a marker record so the cursor is known to be live.
    const first = subscribe({});
    await push(Date.now(), 1, 0);
    await until(() => first.events.length === 1, 15_000);
    expect(first.events).toHaveLength(1);

    // Load: 8 concurrent senders, 500-record batches paced to 3,000 records/s for 6 s. Every 5th batch is
    // late: its records are 60 s older than the ones already delivered.
    const queriesBefore = tailStats.queries;
    const started = Date.now();
    const RATE = 3000;
    const SECONDS = 5;
    let sent = 0;
    let batchNo = 0;
    let reconnect: ReturnType<typeof subscribe> | null = null;
    const total = RATE * SECONDS;
    const sender = async () => {
      while (sent < total) {
        const due = started + (sent / RATE) * 1000;
        if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
        sent += 500;
        const late = ++batchNo % 5 === 0;
        await push(Date.now() - (late ? 60_000 : 0), 400, 100);
        // Halfway, the client's connection drops; it reconnects with the last event id it received.
        if (!reconnect && sent >= total / 2) {
          first.stop();
          await first.done;
          reconnect = subscribe({ lastEventId: first.events[first.events.length - 1]?.id });
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    const sendSeconds = (Date.now() - started) / 1000;
    const expected = batches.flat().length;
    const second = reconnect as unknown as ReturnType<typeof subscribe>;
    await until(() => first.events.length + second.events.length >= expected, 60_000);
    // Anything extra (a duplicate) would arrive with the rest: give it a moment to show.
    await new Promise((r) => setTimeout(r, 1500));
    second.stop();
    await second.done;
    const seconds = (Date.now() - started) / 1000;
    const queries = tailStats.queries - queriesBefore;

    const events = [...first.events, ...second.events];
    const ids = events.map((e) => e.recordId);
    expect(new Set(ids).size, 'duplicates').toBe(ids.length);
    expect(ids.length).toBe(expected);
    expect(new Set(ids)).toEqual(new Set(batches.flat()));

    // Ingest order: event ids strictly increase across both connections ...
    for (let k = 1; k < events.length; k++) {
      const [a, b] = [order(events[k - 1]?.id as string), order(events[k]?.id as string)];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `${events[k - 1]?.id} < ${events[k]?.id}`).toBe(true);
    }
    // ... and every batch arrives whole, contiguous, its records in the order sent (flows, then L7 events).
    const position = new Map(ids.map((id, k) => [id, k]));
    for (const b of batches) {
      const at = position.get(b[0] as string) as number;
      expect(ids.slice(at, at + b.length)).toEqual(b);
    }

    // Database load: reads are batched by the minimum interval (≤ 5/s while caught up) plus one per full
    // 500-record page. A generous bound: 10 reads per second plus two per 500 records.
    const bound = 10 * seconds + (2 * expected) / 500 + 10;
    console.log(
      `[live-tail] ${expected} records in ${batches.length} batches sent in ${sendSeconds.toFixed(1)} s (${Math.round(expected / sendSeconds)} records/s); ` +
        `${queries} tail reads in ${seconds.toFixed(1)} s (${(queries / seconds).toFixed(1)}/s, bound ${Math.round(bound)})`,
    );
    expect(queries).toBeLessThanOrEqual(bound);
  });
});
