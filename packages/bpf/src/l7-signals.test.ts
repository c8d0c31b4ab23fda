/**
 * The L7 signals mode on the real kernel (docs/l7-line-rate.md): a node http server and client on loopback send
 * a known mix of exchanges; the kernel aggregates must equal the mix exactly per (method, status), and records
 * must come exactly for the exchanges the rules keep (or, in full mode, every exchange, kept 0). Its edges (the
 * full path, chunks, closes, roles, drains, HTTP/2, hooks mode): l7-signals-edges.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  SX_KEPT_CAPTURE,
  SX_KEPT_ERROR,
  SX_KEPT_NONE,
  SX_KEPT_SAMPLED,
  SX_KEPT_SLOW,
  SX_L7_EGRESS,
  SX_L7_INGRESS,
  SX_PROTO_HTTP,
} from './generated/events';
import { monotonicNsFromEpochMs } from './probes';
import { kernelMissing } from './testing/kernel';
import {
  aggregates,
  clientRecords,
  comm,
  counts,
  mix,
  probes,
  type Rec,
  request,
  requestLine,
  settle,
  SLOW_DELAY_MS,
  start,
  stop,
} from './testing/l7-signals-rig';

const noKernel = kernelMissing();

afterEach(stop);

describe.skipIf(noKernel)('L7 signals mode', () => {
  it('aggregates exactly when keys collide in the slot array: the first key of a generation in its slot, the others in the hash map', async () => {
    // one slot per generation: whichever key comes first takes it, every other key goes to the hash map
    const { port, agent } = await start('signals', 0, { l7AggSlots: 1 });
    await mix(port, agent, 20, 5, 3);
    await settle(() => clientRecords(port).length >= 2 * (5 + 3));
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 23, 'POST 503': 5 });
    // the drains read and zeroed the slots: a new mix is counted afresh, nothing of the first one again
    await mix(port, agent, 7, 2, 0);
    await settle(() => clientRecords(port).length >= 2 * (5 + 3 + 2));
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 7, 'POST 503': 2 });
  });

  it('aggregates the mix exactly per (method, status) and records only the 5xx and slow exchanges (budget 0)', async () => {
    const { port, agent } = await start('signals', 0);
    const N = 20;
    const M = 5;
    const K = 3;
    await mix(port, agent, N, M, K);
    await settle(() => clientRecords(port).length >= 2 * (M + K));
    const aggs = await aggregates(port);
    expect(counts(aggs)).toEqual({ 'GET 200': N + K, 'POST 503': M });
    for (const a of aggs) {
      expect(a).toMatchObject({ pid: process.pid, comm, family: 4, laddr: '127.0.0.1', raddr: '127.0.0.1', lport: 0, rport: port });
      expect(a.cnt.reduce((s, c) => s + c, 0)).toBe(a.count);
      expect(a.lastNs >= a.firstNs).toBe(true);
    }
    // the slow ones waited at least SLOW_DELAY_MS: K samples at or above the threshold's bucket
    const get = aggs.find((a) => a.method === 'GET')!;
    expect(get.latencySumNs >= BigInt(K) * BigInt(SLOW_DELAY_MS) * 1_000_000n).toBe(true);

    const recs = clientRecords(port);
    const requests = recs.filter((r) => r.direction === SX_L7_EGRESS);
    const responses = recs.filter((r) => r.direction === SX_L7_INGRESS);
    expect(requests.map(requestLine).sort()).toEqual(
      [
        ...Array.from({ length: M }, (_, i) => `POST /fail/${i} HTTP/1.1`),
        ...Array.from({ length: K }, (_, i) => `GET /slow/${i} HTTP/1.1`),
      ].sort(),
    );
    expect(requests.filter((r) => r.text.startsWith('POST')).every((r) => r.kept === SX_KEPT_ERROR)).toBe(true);
    expect(requests.filter((r) => r.text.startsWith('GET')).every((r) => r.kept === SX_KEPT_SLOW)).toBe(true);
    expect(responses.map((r) => `${requestLine(r)} ${r.kept}`).sort()).toEqual(
      [...Array(M).fill(`HTTP/1.1 503 Service Unavailable ${SX_KEPT_ERROR}`), ...Array(K).fill(`HTTP/1.1 200 OK ${SX_KEPT_SLOW}`)].sort(),
    );
    expect(recs.every((r) => r.protocol === SX_PROTO_HTTP)).toBe(true);
    // the counters are host-wide (other HTTP traffic on this host counts too): at least this test's
    const c = probes().readCounters();
    expect(c.l7KeptError).toBeGreaterThanOrEqual(M);
    expect(c.l7KeptSlow).toBeGreaterThanOrEqual(K);
    expect(c.l7Aggregated).toBeGreaterThanOrEqual(N + M + K);
  });

  it('records every exchange as sampled within a large budget', async () => {
    const { port, agent } = await start('signals', 1_000_000);
    const N = 15;
    await mix(port, agent, N, 0, 0);
    const methods = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
    for (const m of methods) expect(await request(port, agent, m, `/ok/${m}`)).toBe(200);
    await settle(() => clientRecords(port).length >= 2 * (N + methods.length));
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': N, ...Object.fromEntries(methods.map((m) => [`${m} 200`, 1])) });
    const recs = clientRecords(port);
    expect(
      recs
        .filter((r) => r.direction === SX_L7_EGRESS)
        .map(requestLine)
        .sort(),
    ).toEqual([...Array.from({ length: N }, (_, i) => `GET /ok/${i} HTTP/1.1`), ...methods.map((m) => `${m} /ok/${m} HTTP/1.1`)].sort());
    expect(recs.filter((r) => r.direction === SX_L7_INGRESS)).toHaveLength(N + methods.length);
    expect(recs.every((r) => r.kept === SX_KEPT_SAMPLED)).toBe(true);
    // the exchange number: per socket, request and response of one exchange share it, and it counts up from 1
    const bySocket = new Map<bigint, Rec[]>();
    for (const r of recs) bySocket.set(r.sockIno, [...(bySocket.get(r.sockIno) ?? []), r]);
    for (const list of bySocket.values())
      expect(list.map((r) => [r.direction, r.xseq])).toEqual(
        list.map((_, i) => [i % 2 === 0 ? SX_L7_EGRESS : SX_L7_INGRESS, Math.floor(i / 2) + 1]),
      );
  });

  it('records every exchange as capture while record_all_until is in the future', async () => {
    const { port, agent } = await start('signals', 0, { recordAllUntilNs: monotonicNsFromEpochMs(Date.now() + 120_000) });
    const N = 10;
    await mix(port, agent, N, 0, 0);
    await settle(() => clientRecords(port).length >= 2 * N);
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': N });
    const recs = clientRecords(port);
    expect(recs).toHaveLength(2 * N);
    expect(recs.every((r) => r.kept === SX_KEPT_CAPTURE)).toBe(true);
  });

  it('in full mode records every exchange as before (kept 0) and aggregates nothing', async () => {
    const { port, agent } = await start('full', 1_000_000);
    const N = 10;
    const M = 3;
    await mix(port, agent, N, M, 0);
    await settle(() => clientRecords(port).length >= 2 * (N + M));
    expect(await aggregates(port)).toEqual([]);
    const recs = clientRecords(port);
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS)).toHaveLength(N + M);
    expect(recs.filter((r) => r.direction === SX_L7_INGRESS)).toHaveLength(N + M);
    expect(recs.every((r) => r.kept === SX_KEPT_NONE && r.xseq === 0)).toBe(true);
    expect(probes().readCounters().l7Aggregated).toBe(0);
  });
});
