/**
 * The probes on the real kernel with real traffic on loopback: exact event counts against what the test
 * itself did. Skipped (with the reason printed) only where eBPF cannot run.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SX_CLOSE_CLOSED, SX_CLOSE_REFUSED, SX_CLOSE_RESET, SX_DIR_CLIENT, SX_DIR_SERVER, SX_HIST_TCP_CONNECT } from './generated/events';
import { preflight } from './preflight';
import { SextantProbes, type TcpConnEvent } from './probes';

const pf = preflight();
if (!pf.ok) console.warn(`[skip] eBPF kernel tests: ${pf.reason}`);

let probes: SextantProbes;
const events: TcpConnEvent[] = [];

beforeAll(() => {
  if (!pf.ok) return;
  probes = SextantProbes.open({ cgroupRoot: '/sys/fs/cgroup/unified' });
  probes.onTcpEvents((batch) => events.push(...batch));
});
afterAll(() => probes?.close());

async function listen(handler: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function connectOnce(port: number, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(payload));
    c.on('data', () => c.end());
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}

async function settle(pred: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !pred()) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200)); // and let stragglers arrive
}

describe.skipIf(!pf.ok)('TCP lifecycle', () => {
  it('reports exactly N client and N server connections with pids and byte counts', async () => {
    const srv = await listen((s) => s.on('data', (d) => s.end(`echo:${d}`)));
    const N = 25;
    for (let i = 0; i < N; i++) await connectOnce(srv.port, 'hello-sextant');
    const mine = () => events.filter((e) => e.dport === srv.port || e.sport === srv.port);
    await settle(() => mine().length >= 2 * N);
    srv.close();
    const clients = mine().filter((e) => e.direction === SX_DIR_CLIENT);
    const servers = mine().filter((e) => e.direction === SX_DIR_SERVER);
    expect(clients).toHaveLength(N);
    expect(servers).toHaveLength(N);
    for (const c of clients) {
      expect(c).toMatchObject({ pid: process.pid, saddr: '127.0.0.1', daddr: '127.0.0.1', dport: srv.port, closeReason: SX_CLOSE_CLOSED, final: 1 });
      // Kernel accounting counts sequence space: payload plus at most SYN and FIN.
      expect(Number(c.bytesAcked)).toBeGreaterThanOrEqual(13);
      expect(Number(c.bytesAcked)).toBeLessThanOrEqual(15);
      expect(Number(c.bytesReceived)).toBeGreaterThanOrEqual(18);
      expect(Number(c.bytesReceived)).toBeLessThanOrEqual(20);
      expect(Number(c.connectNs)).toBeGreaterThan(0);
      expect(c.comm.length).toBeGreaterThan(0);
    }
    // The accepting side is attributed to the process listening on the port, not the softirq's task.
    for (const s of servers) expect(s).toMatchObject({ pid: process.pid, sport: srv.port, closeReason: SX_CLOSE_CLOSED });
    const hist = probes.readAndResetHistograms().filter((h) => h.remotePort === srv.port && h.kind === SX_HIST_TCP_CONNECT);
    expect(hist.reduce((a, h) => a + h.cnt.reduce((x, y) => x + y, 0), 0)).toBe(N);
  });

  it('reports a refused connect', async () => {
    const probe = await listen(() => {});
    const port = probe.port;
    probe.close(); // nothing listens there any more
    await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((resolve) => net.connect(port, '127.0.0.1').on('error', () => resolve()));
    await settle(() => events.some((e) => e.dport === port && e.direction === SX_DIR_CLIENT));
    const refused = events.filter((e) => e.dport === port && e.direction === SX_DIR_CLIENT);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.closeReason).toBe(SX_CLOSE_REFUSED);
    expect(refused[0]?.rstRecv).toBe(1);
  });

  it('reports resets on both sides', async () => {
    const srv = await listen((s) => s.on('data', () => s.resetAndDestroy()));
    await new Promise<void>((resolve) => {
      const c = net.connect(srv.port, '127.0.0.1', () => c.write('x'));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
    const mine = () => events.filter((e) => e.dport === srv.port || e.sport === srv.port);
    await settle(() => mine().length >= 2);
    srv.close();
    const client = mine().find((e) => e.direction === SX_DIR_CLIENT);
    const server = mine().find((e) => e.direction === SX_DIR_SERVER);
    expect(client).toMatchObject({ closeReason: SX_CLOSE_RESET, rstRecv: 1 });
    expect(server).toMatchObject({ closeReason: SX_CLOSE_RESET, rstSent: 1 });
  });
});

describe.skipIf(!pf.ok)('UDP flows and drops', () => {
  it('counts every datagram and byte each way', async () => {
    probes.drainUdpFlows();
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const sport = server.address().port;
    let got = 0;
    server.on('message', () => got++);
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    const N = 40;
    const payload = Buffer.alloc(100, 1);
    for (let i = 0; i < N; i++) await new Promise<void>((r) => client.send(payload, sport, '127.0.0.1', () => r()));
    await settle(() => got >= N, 2_000);
    const cport = client.address().port;
    client.close();
    server.close();
    const flows = probes.drainUdpFlows();
    const out = flows.find((f) => f.localPort === cport && f.remotePort === sport);
    const inbound = flows.find((f) => f.localPort === sport && f.remotePort === cport);
    expect(out).toMatchObject({ packetsOut: N, bytesOut: N * 100, localIp: '127.0.0.1', pid: process.pid });
    expect(inbound).toMatchObject({ packetsIn: N, bytesIn: N * 100 });
  });

  it('reports datagrams to a closed port as drops with the kernel reason name', async () => {
    probes.drainDrops();
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const closedPort = s.address().port;
    s.close();
    const client = dgram.createSocket('udp4');
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => client.send('lost', closedPort, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 300));
    client.close();
    const drops = probes.drainDrops().filter((d) => d.dstPort === closedPort && d.protocol === 17);
    expect(drops.reduce((a, d) => a + d.count, 0)).toBe(5);
    expect(drops[0]?.reasonName).toBe('NO_SOCKET');
  });
});

describe.skipIf(!pf.ok)('lifecycle', () => {
  it('counts nothing lost under this load and detaches every program on close', () => {
    const c = probes.readCounters();
    expect(c.ringbufFull).toBe(0);
    expect(c.queueDroppedRecords).toBe(0);
    expect(c.events).toBeGreaterThan(0);
    const count = () => (execFileSync('bpftool', ['prog', 'show']).toString().match(/name sx_inet_sock_se/g) ?? []).length;
    const before = count();
    const extra = SextantProbes.open({});
    expect(count()).toBe(before + 1);
    extra.close();
    expect(count()).toBe(before);
  });

  it('loads neither the interim-report nor the L7 programs when both are off', () => {
    const loaded = (name: string) => (execFileSync('bpftool', ['prog', 'show']).toString().match(new RegExp(`name ${name}`, 'g')) ?? []).length;
    const before = { send: loaded('sx_sock_send_le'), state: loaded('sx_inet_sock_se'), l7: loaded('sx_enter_write') };
    const lean = SextantProbes.open({ updateIntervalMs: 0, l7: false });
    try {
      expect(loaded('sx_sock_send_le')).toBe(before.send);
      expect(loaded('sx_enter_write')).toBe(before.l7);
      expect(loaded('sx_inet_sock_se')).toBe(before.state + 1);
    } finally {
      lean.close();
    }
    const full = SextantProbes.open({});
    try {
      expect(loaded('sx_sock_send_le')).toBe(before.send + 1);
    } finally {
      full.close();
    }
  });
});
