/**
 * The probes on the real kernel with real traffic on loopback: exact event counts against what the test
 * itself did. Skipped (with the reason printed) only where eBPF cannot run.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SX_CLOSE_CLOSED,
  SX_CLOSE_OPEN,
  SX_CLOSE_REFUSED,
  SX_CLOSE_RESET,
  SX_DIR_CLIENT,
  SX_DIR_SERVER,
  SX_HIST_TCP_CONNECT,
} from './generated/events';
import { preflight } from './preflight';
import { SextantProbes, type TcpConnEvent } from './probes';
import { missingPrerequisite } from '@sextant/shared/testing';

const pf = preflight();
const noKernel = missingPrerequisite(pf.ok, `eBPF kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);

let probes: SextantProbes;
const events: TcpConnEvent[] = [];
// A server that was listening before the probes were loaded.
let early: { port: number; close: () => void } | undefined;

beforeAll(async () => {
  if (noKernel) return;
  early = await listen((s) => s.on('data', () => s.end('ok')));
  probes = SextantProbes.open({ cgroupRoot: '/sys/fs/cgroup/unified' });
  probes.onTcpEvents((batch) => events.push(...batch));
});
afterAll(() => {
  probes?.close();
  early?.close();
});

async function listen(handler: (s: net.Socket) => void, host = '127.0.0.1'): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, host, r));
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

describe.skipIf(noKernel)('TCP lifecycle', () => {
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
      expect(c).toMatchObject({
        pid: process.pid,
        saddr: '127.0.0.1',
        daddr: '127.0.0.1',
        dport: srv.port,
        closeReason: SX_CLOSE_CLOSED,
        final: 1,
      });
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

  it('reports an IPv4 client of a dual-stack server as IPv4 on both sides, and an IPv6 one as IPv6', async () => {
    const srv = await listen((s) => s.on('data', () => s.end('ok')), '::');
    await connectOnce(srv.port, 'v4');
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(srv.port, '::1', () => c.write('v6'));
      c.on('data', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    const server = () => events.filter((e) => e.sport === srv.port && e.direction === SX_DIR_SERVER);
    await settle(() => server().length >= 2);
    srv.close();
    const byPeer = Object.fromEntries(server().map((e) => [e.daddr, e]));
    expect(Object.keys(byPeer).sort()).toEqual(['127.0.0.1', '::1']);
    // the server's socket is IPv6 (bound to ::); its IPv4 peer is v4-mapped in the kernel
    expect(byPeer['127.0.0.1']).toMatchObject({ family: 4, saddr: '127.0.0.1' });
    expect(byPeer['::1']).toMatchObject({ family: 6, saddr: '::1' });
  });

  it('knows who listens on a port: from listen() since load, older listeners once seeded, and forgets closed ones', async () => {
    const srv = await listen((s) => s.on('data', () => s.end('ok')));
    expect(probes.listener(srv.port)).toMatchObject({ family: 4, port: srv.port, pid: process.pid });
    expect(probes.listener(srv.port)?.comm.length).toBeGreaterThan(0);
    // Listening before the load: unknown to the kernel side, so the connections it accepts have no process...
    const port = early!.port;
    expect(probes.listener(port)).toBeUndefined();
    await connectOnce(port, 'before');
    const accepted = () => events.filter((e) => e.direction === SX_DIR_SERVER && e.sport === port);
    await settle(() => accepted().length >= 1);
    expect(accepted().map((e) => e.pid)).toEqual([0]);
    // ...until the collector seeds it (from /proc); what the kernel recorded itself is not overwritten.
    expect(
      probes.seedListeners([
        { family: 4, port, pid: process.pid, comm: 'seeded' },
        { family: 4, port: srv.port, pid: 1, comm: 'init' },
      ]),
    ).toBe(1);
    expect(probes.listener(srv.port)?.pid).toBe(process.pid);
    await connectOnce(port, 'after');
    await settle(() => accepted().length >= 2);
    expect(accepted().map((e) => [e.pid, e.comm])).toEqual([
      [0, ''],
      [process.pid, 'seeded'],
    ]);
    srv.close();
    await settle(() => probes.listener(srv.port) === undefined, 2_000);
    expect(probes.listener(srv.port)).toBeUndefined();
  });

  it('reports a refused connect, and not the drop of its SYN as well', async () => {
    const probe = await listen(() => {});
    const port = probe.port;
    probe.close(); // nothing listens there any more
    await new Promise((r) => setTimeout(r, 50));
    // From an IPv4 socket, and from an IPv6 one to the v4-mapped address (its SYN goes out as IPv4).
    await new Promise<void>((resolve) => net.connect(port, '127.0.0.1').on('error', () => resolve()));
    await new Promise<void>((resolve) => net.connect(port, '::ffff:127.0.0.1').on('error', () => resolve()));
    await settle(() => events.filter((e) => e.dport === port && e.direction === SX_DIR_CLIENT).length >= 2);
    const refused = events.filter((e) => e.dport === port && e.direction === SX_DIR_CLIENT);
    expect(refused).toHaveLength(2);
    for (const e of refused) expect(e).toMatchObject({ closeReason: SX_CLOSE_REFUSED, rstRecv: 1 });
    // The kernel dropped each SYN (NO_SOCKET) just before refusing it: the refused socket's close forgets
    // that drop, so the connect is one record.
    expect(probes.drainDrops().filter((d) => d.protocol === 6 && d.dstPort === port)).toEqual([]);
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

describe.skipIf(noKernel)('interim reports of long-lived connections', () => {
  it('reports open connections that moved bytes once per interval, from the sweep, and never idle ones', async () => {
    const sweeper = SextantProbes.open({ updateIntervalMs: 300, l7: false });
    const seen: TcpConnEvent[] = [];
    sweeper.onTcpEvents((batch) => seen.push(...batch));
    try {
      let server: net.Socket | undefined;
      const srv = await listen((s) => {
        server = s;
        s.on('data', (d) => s.write(d)); // echo
      });
      const client = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((r) => client.on('connect', () => r()));
      const echo = async (n: number) => {
        let got = 0;
        await new Promise<void>((r) => {
          const on = (d: Buffer) => {
            got += d.length;
            if (got >= n) {
              client.off('data', on);
              r();
            }
          };
          client.on('data', on);
          client.write(Buffer.alloc(n, 7));
        });
      };
      const mine = () => seen.filter((e) => e.sport === srv.port || e.dport === srv.port);
      await echo(1000);
      expect(sweeper.sweepConnections()).toBe(0); // younger than the interval
      await new Promise((r) => setTimeout(r, 350));
      expect(sweeper.sweepConnections()).toBe(2); // client and server side
      expect(sweeper.sweepConnections()).toBe(0); // just reported
      await new Promise((r) => setTimeout(r, 350));
      expect(sweeper.sweepConnections()).toBe(0); // idle since
      await echo(500);
      await new Promise((r) => setTimeout(r, 350));
      expect(sweeper.sweepConnections()).toBe(2);
      await settle(() => mine().length >= 4, 2_000);
      client.end();
      server?.end();
      await settle(() => mine().filter((e) => e.final).length >= 2, 3_000);
      srv.close();
      const updates = mine().filter((e) => !e.final);
      const closes = mine().filter((e) => e.final);
      expect(updates).toHaveLength(4);
      expect(closes).toHaveLength(2);
      const clientUpdates = updates.filter((e) => e.direction === SX_DIR_CLIENT);
      // cumulative; the kernel's acked count includes the SYN's sequence number
      expect(clientUpdates.map((e) => [Number(e.bytesAcked), Number(e.bytesReceived)])).toEqual([
        [1001, 1000],
        [1501, 1500],
      ]);
      for (const u of updates) expect(u).toMatchObject({ closeReason: SX_CLOSE_OPEN, pid: process.pid });
      // the close carries the same socket id and the totals
      const clientClose = closes.find((e) => e.direction === SX_DIR_CLIENT);
      expect(clientClose?.sockId).toBe(clientUpdates[0]?.sockId);
      expect(Number(clientClose?.bytesReceived)).toBeGreaterThanOrEqual(1500);
    } finally {
      sweeper.close();
    }
  });

  it('does nothing when interim reports are off', () => {
    const lean = SextantProbes.open({ updateIntervalMs: 0, l7: false });
    try {
      expect(lean.sweepConnections()).toBe(0);
    } finally {
      lean.close();
    }
  });
});

describe.skipIf(noKernel)('UDP flows and drops', () => {
  async function udpSocket(type: 'udp4' | 'udp6', addr: string): Promise<dgram.Socket> {
    const sock = dgram.createSocket(type);
    await new Promise<void>((r) => sock.bind(0, addr, r));
    return sock;
  }

  it('counts every datagram and byte each way, per peer, for unconnected and connected sockets', async () => {
    probes.drainUdpFlows();
    // A server bound to "any" (like a DNS server): no local address on its socket, one peer per datagram.
    const server = await udpSocket('udp4', '0.0.0.0');
    const sport = server.address().port;
    let got = 0;
    server.on('message', (msg, rinfo) => {
      got++;
      server.send(msg.subarray(0, 10), rinfo.port, rinfo.address); // reply: 10 bytes
    });
    const a = await udpSocket('udp4', '127.0.0.1'); // unconnected: the peer comes with each call
    const b = await udpSocket('udp4', '127.0.0.1');
    await new Promise<void>((r) => b.connect(sport, '127.0.0.1', r)); // connected: the peer is on the socket
    let replies = 0;
    a.on('message', () => replies++);
    b.on('message', () => replies++);
    const N = 40;
    const payload = Buffer.alloc(100, 1);
    for (let i = 0; i < N; i++) {
      await new Promise<void>((r) => a.send(payload, sport, '127.0.0.1', () => r()));
      await new Promise<void>((r) => b.send(payload.subarray(0, 50), () => r()));
    }
    await settle(() => got >= 2 * N && replies >= 2 * N, 3_000);
    const [aport, bport] = [a.address().port, b.address().port];
    for (const sock of [a, b, server]) sock.close();
    const flows = probes.drainUdpFlows();
    const find = (lport: number, rport: number) => flows.filter((f) => f.localPort === lport && f.remotePort === rport);
    expect(find(aport, sport)).toEqual([
      expect.objectContaining({
        localIp: '127.0.0.1',
        remoteIp: '127.0.0.1',
        packetsOut: N,
        bytesOut: N * 100,
        packetsIn: N,
        bytesIn: N * 10,
        pid: process.pid,
      }),
    ]);
    expect(find(bport, sport)).toEqual([
      expect.objectContaining({ localIp: '127.0.0.1', packetsOut: N, bytesOut: N * 50, packetsIn: N, bytesIn: N * 10 }),
    ]);
    // The any-bound server: one flow per peer, its local address the loopback address the peers used.
    expect(find(sport, aport)).toEqual([
      expect.objectContaining({
        localIp: '127.0.0.1',
        remoteIp: '127.0.0.1',
        packetsIn: N,
        bytesIn: N * 100,
        packetsOut: N,
        bytesOut: N * 10,
        pid: process.pid,
      }),
    ]);
    expect(find(sport, bport)).toEqual([
      expect.objectContaining({ localIp: '127.0.0.1', packetsIn: N, bytesIn: N * 50, packetsOut: N, bytesOut: N * 10 }),
    ]);
  });

  it('counts IPv6 datagrams, and IPv4 peers of a dual-stack socket as IPv4', async () => {
    probes.drainUdpFlows();
    const server = await udpSocket('udp6', '::'); // dual-stack
    const sport = server.address().port;
    let got = 0;
    server.on('message', () => got++);
    const v6 = await udpSocket('udp6', '::1');
    const v4 = await udpSocket('udp4', '127.0.0.1');
    for (let i = 0; i < 7; i++) {
      await new Promise<void>((r) => v6.send('sixsix', sport, '::1', () => r()));
      await new Promise<void>((r) => v4.send('four', sport, '127.0.0.1', () => r()));
    }
    await settle(() => got >= 14, 3_000);
    const [p6, p4] = [v6.address().port, v4.address().port];
    for (const sock of [v6, v4, server]) sock.close();
    const flows = probes.drainUdpFlows();
    expect(flows.filter((f) => f.localPort === sport && f.remotePort === p6)).toEqual([
      expect.objectContaining({ family: 6, localIp: '::1', remoteIp: '::1', packetsIn: 7, bytesIn: 42 }),
    ]);
    expect(flows.filter((f) => f.localPort === sport && f.remotePort === p4)).toEqual([
      expect.objectContaining({ family: 4, localIp: '127.0.0.1', remoteIp: '127.0.0.1', packetsIn: 7, bytesIn: 28 }),
    ]);
    expect(flows.filter((f) => f.localPort === p6 && f.remotePort === sport)).toEqual([
      expect.objectContaining({ family: 6, localIp: '::1', packetsOut: 7, bytesOut: 42 }),
    ]);
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
    for (const d of drops) expect(d.lastNs >= d.firstNs && d.firstNs > 0n).toBe(true); // a span, never negative
  });
});

describe.skipIf(noKernel)('lifecycle', () => {
  it('counts nothing lost under this load and detaches every program on close', async () => {
    const c = probes.readCounters();
    expect(c.ringbufFull).toBe(0);
    expect(c.queueDroppedRecords).toBe(0);
    expect(c.events).toBeGreaterThan(0);
    const count = () =>
      (
        execFileSync('bpftool', ['prog', 'show'])
          .toString()
          .match(/name sx_inet_sock_se/g) ?? []
      ).length;
    const before = count();
    const extra = SextantProbes.open({});
    expect(count()).toBe(before + 1);
    extra.close();
    // the kernel frees a detached program after an RCU grace period: it may be listed for a moment
    await settle(() => count() === before);
    expect(count()).toBe(before);
  });

  it('sizes the TCP event ring as asked, and refuses a size the kernel would not take', () => {
    const ringSizes = () =>
      [
        ...execFileSync('bpftool', ['map', 'show'])
          .toString()
          .matchAll(/name sx_events .*\n.*max_entries (\d+)/g),
      ].map((m) => Number(m[1]));
    expect(ringSizes()).toContain(4 << 20); // the default, of the probes the other tests use
    const small = SextantProbes.open({ tcpRingMb: 1, l7: false, cgroupRoot: null, updateIntervalMs: 0 });
    try {
      expect(ringSizes()).toContain(1 << 20);
    } finally {
      small.close();
    }
    expect(() => SextantProbes.open({ tcpRingMb: 3 })).toThrow(/tcpRingMb must be a power of two/);
  });

  it('loads none of the interim-report, UDP and L7 programs when they are off, and each of them when on', () => {
    const loaded = (name: string) =>
      (
        execFileSync('bpftool', ['prog', 'show'])
          .toString()
          .match(new RegExp(`name ${name}\\b`, 'g')) ?? []
      ).length;
    // bpftool prints the full names (from BTF); the kernel keeps 15 characters
    const names = ['sx_sweep_connections', 'sx_sock_send_length', 'sx_udp_sendmsg4', 'sx_enter_write', 'sx_inet_sock_set_state'] as const;
    const count = () => Object.fromEntries(names.map((n) => [n, loaded(n)]));
    const before = count();
    const lean = SextantProbes.open({ updateIntervalMs: 0, l7: false, cgroupRoot: null });
    try {
      expect(count()).toEqual({ ...before, sx_inet_sock_set_state: (before.sx_inet_sock_set_state ?? 0) + 1 });
    } finally {
      lean.close();
    }
    const full = SextantProbes.open({ cgroupRoot: '/sys/fs/cgroup/unified' });
    try {
      expect(count()).toEqual(Object.fromEntries(names.map((n) => [n, (before[n] ?? 0) + 1])));
    } finally {
      full.close();
    }
  });
});
