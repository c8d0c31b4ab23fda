/**
 * Test fixture: a connection's final TCP event as the kernel programs report it at close (packages/bpf
 * TcpConnEvent), for the collector's user-space tests that feed the assemblers without a kernel.
 */
import { SX_CLOSE_CLOSED, SX_DIR_CLIENT, type TcpConnEvent } from '@sextant/bpf';

/**
 * The client end of a connection of this process, 10.77.0.1:40000 → 10.77.0.2:443, open 2.5 ms, 120 bytes sent
 * and 853 received, closed normally, with no payload classified (l7Proto/l7Tls 0); `o` overrides any field.
 */
export function tcpCloseEvent(o: Partial<TcpConnEvent> = {}): TcpConnEvent {
  return {
    kind: 0,
    family: 4,
    final: 1,
    startNs: 1_000_000_000n,
    endNs: 1_002_500_000n,
    cgroupId: 0n,
    pid: process.pid,
    comm: 'node',
    segsOut: 6,
    segsIn: 5,
    totalRetrans: 0,
    retransmits: 0,
    srttUs: 42,
    rstSent: 0,
    rstRecv: 0,
    closeReason: SX_CLOSE_CLOSED,
    tcpFlags: 0,
    connectNs: 51_000,
    sockId: 1n,
    direction: SX_DIR_CLIENT,
    saddr: '10.77.0.1',
    sport: 40_000,
    daddr: '10.77.0.2',
    dport: 443,
    bytesAcked: 120,
    bytesReceived: 853,
    l7Proto: 0,
    l7Tls: 0,
    ...o,
  };
}
