/**
 * Per-edge slow thresholds (sx_l7_slow, slow-edges.ts) on the real kernel: two loopback HTTP servers answer after
 * a delay the request names; the global threshold is SLOW_NS (800 ms). An edge given its own threshold has exactly
 * its exchanges at or above it recorded as slow (below the global one too, and not those above the global one when
 * its own is higher); the other edge keeps the global threshold; with the edges removed the global one rules again.
 * Aggregates count every exchange whatever is kept.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_DIR_SERVER, SX_KEPT_SLOW, SX_L7_EGRESS, SX_L7_INGRESS } from './generated/events';
import { ipBytes } from './addresses';
import { slowEdgeKey } from './slow-edges';
import { kernelMissing } from './testing/kernel';
import { clientRecords, counts, drainAll, forPort, onCleanup, probes, records, settle, start, stop } from './testing/l7-signals-rig';

const noKernel = kernelMissing();

afterEach(stop);

/** A loopback server answering GET /wait/<ms> with 200 after <ms> ms; its port. */
async function delayServer(): Promise<number> {
  const srv = http.createServer((req, res) => {
    req.resume();
    setTimeout(() => res.end('ok'), Number(req.url?.split('/')[2] ?? 0));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  onCleanup(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return (srv.address() as AddressInfo).port;
}

/** GET /wait/<ms> for each delay, one after the other on one keep-alive socket (the agent's, if given); every answer 200. */
async function waits(port: number, delays: number[], shared?: http.Agent): Promise<void> {
  const agent = shared ?? new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const ms of delays) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: `/wait/${ms}`, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
  }
  if (!shared) agent.destroy();
}

const slowResponses = (port: number) => clientRecords(port).filter((r) => r.direction === SX_L7_INGRESS && r.kept === SX_KEPT_SLOW);
const client = (port: number, ms: number) => ({
  role: 'client' as const,
  family: 4 as const,
  addr: '127.0.0.1',
  port,
  thresholdNs: BigInt(ms) * 1_000_000n,
});

describe('slow edge keys', () => {
  it('encodes addresses as the kernel does (IPv4 first, v4-mapped and IPv6 in 16 bytes) and ignores a server edge address', () => {
    expect([...ipBytes('10.1.2.3', 4)]).toEqual([10, 1, 2, 3, ...Array(12).fill(0)]);
    expect([...ipBytes('10.1.2.3', 6)]).toEqual([...Array(10).fill(0), 0xff, 0xff, 10, 1, 2, 3]);
    expect(ipBytes('fd00::1:2', 6).toString('hex')).toBe('fd000000000000000000000000010002');
    expect(ipBytes('::1', 6).toString('hex')).toBe('00000000000000000000000000000001');
    expect(() => ipBytes('fd00::1::2', 6)).toThrow(RangeError);
    const server = slowEdgeKey({ role: 'server', family: 4, addr: '10.0.0.1', port: 8080 });
    expect(server).toEqual(slowEdgeKey({ role: 'server', family: 4, addr: '', port: 8080 }));
    expect(server.length).toBe(24);
  });
});

describe.skipIf(noKernel)('per-edge slow thresholds', () => {
  it('records exactly the exchanges at or above an edge own threshold; the other edge keeps the global one', async () => {
    await start('signals', 0);
    const a = await delayServer();
    const b = await delayServer();
    expect(probes().setL7SlowEdges([client(a, 60), client(b, 2_000)])).toBe(2);
    // a: 3 of 12 at 150 ms (under the global 800 ms, over a's 60 ms); b: 2 at 900 ms (over the global, under b's 2 s)
    const mixA = [0, 0, 150, 0, 0, 0, 150, 0, 0, 0, 0, 150];
    await Promise.all([waits(a, mixA), waits(b, [0, 900, 0, 900])]);
    await settle(() => clientRecords(a).length >= 6);
    expect(slowResponses(a)).toHaveLength(3);
    expect(clientRecords(a)).toHaveLength(6); // the 3 requests and their responses, nothing else
    expect(clientRecords(b)).toEqual([]);
    const aggs = await drainAll();
    expect(counts(forPort(aggs, a))).toEqual({ 'GET 200': 12 });
    expect(counts(forPort(aggs, b))).toEqual({ 'GET 200': 4 });

    // edges removed: the global threshold for both (a's 150 ms not slow, b's 900 ms slow)
    expect(probes().setL7SlowEdges([])).toBe(0);
    await Promise.all([waits(a, [150, 0]), waits(b, [900, 0])]);
    await settle(() => clientRecords(b).length >= 2);
    expect(slowResponses(a)).toHaveLength(3);
    expect(slowResponses(b)).toHaveLength(1);
    expect(clientRecords(b)).toHaveLength(2);
  });

  it('keys a server-role edge by its local port alone: the server end slow at its threshold, the client end not', async () => {
    await start('signals', 0, { captureLoopbackServers: true });
    const a = await delayServer();
    expect(probes().setL7SlowEdges([{ role: 'server', family: 4, addr: '', port: a, thresholdNs: 60_000_000n }])).toBe(1);
    await waits(a, [150, 0, 150, 0]);
    const server = () => records().filter((r) => r.role === SX_DIR_SERVER && r.sport === a);
    await settle(() => server().length >= 4);
    // the server's answers (egress) to the two delayed requests, each after its request (ingress)
    expect(server().map((r) => [r.direction, r.kept])).toEqual(
      [SX_L7_INGRESS, SX_L7_EGRESS, SX_L7_INGRESS, SX_L7_EGRESS].map((d) => [d, SX_KEPT_SLOW]),
    );
    expect(clientRecords(a)).toEqual([]);
  });

  it('keeps the map to what was last set: changed thresholds rewritten, dropped edges deleted', async () => {
    await start('signals', 0);
    const a = await delayServer();
    const b = await delayServer();
    expect(probes().setL7SlowEdges([client(a, 5_000), client(b, 60)])).toBe(2);
    expect(probes().setL7SlowEdges([client(a, 60)])).toBe(1);
    await Promise.all([waits(a, [150, 0]), waits(b, [150, 0])]);
    await settle(() => clientRecords(a).length >= 2);
    expect(slowResponses(a)).toHaveLength(1);
    expect(clientRecords(b)).toEqual([]);
  });

  it('applies a changed threshold to a connection already open (each socket keeps its edge threshold until they change)', async () => {
    await start('signals', 0);
    const a = await delayServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    const socks = new Set<unknown>();
    agent.on('free', (socket: unknown) => socks.add(socket));
    expect(probes().setL7SlowEdges([client(a, 2_000)])).toBe(1);
    await waits(a, [150, 0], agent); // not slow at 2 s
    expect(probes().setL7SlowEdges([client(a, 60)])).toBe(1);
    await waits(a, [150, 0], agent); // slow at 60 ms, on the same socket
    expect(probes().setL7SlowEdges([client(a, 2_000)])).toBe(1);
    await waits(a, [150, 0, 150], agent); // not slow again
    expect(probes().setL7SlowEdges([])).toBe(0);
    await waits(a, [900], agent); // the global 800 ms
    await settle(() => slowResponses(a).length >= 2);
    expect(socks.size).toBe(1); // every exchange on one connection
    expect(slowResponses(a)).toHaveLength(2);
    const aggs = await drainAll();
    expect(counts(forPort(aggs, a))).toEqual({ 'GET 200': 8 });
  });
});
