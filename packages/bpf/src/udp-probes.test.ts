/**
 * UDP flows and drops on the real kernel: datagrams and bytes each way per peer (unconnected, connected and
 * any-bound sockets, IPv4 and IPv6, dual-stack), and datagrams to a closed port as drops with their reason.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SextantProbes } from './probes';
import { kernelMissing, settle } from './testing/kernel';

const noKernel = kernelMissing();
let probes: SextantProbes;

beforeAll(() => {
  if (noKernel) return;
  probes = SextantProbes.open({ cgroupRoot: '/sys/fs/cgroup/unified' });
});
afterAll(() => probes?.close());

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
    // Each peer's flow from both ends: N datagrams of `size` bytes to the server, N replies of 10 bytes back.
    const loopback = { localIp: '127.0.0.1', remoteIp: '127.0.0.1', pid: process.pid };
    const sent = (size: number) => ({ ...loopback, packetsOut: N, bytesOut: N * size, packetsIn: N, bytesIn: N * 10 });
    const served = (size: number) => ({ ...loopback, packetsIn: N, bytesIn: N * size, packetsOut: N, bytesOut: N * 10 });
    expect(find(aport, sport)).toEqual([expect.objectContaining(sent(100))]);
    expect(find(bport, sport)).toEqual([expect.objectContaining(sent(50))]);
    // The any-bound server: one flow per peer, its local address the loopback address the peers used.
    expect(find(sport, aport)).toEqual([expect.objectContaining(served(100))]);
    expect(find(sport, bport)).toEqual([expect.objectContaining(served(50))]);
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
