/**
 * Test fixtures: what the kernel programs report, built in user space for the collector's tests that feed the
 * assemblers without a kernel — a connection's final TCP event at close (packages/bpf TcpConnEvent), and one
 * captured syscall's L7 record in the ring's layout (sx_l7_header + captured bytes).
 */
import { L7Record, SX_CLOSE_CLOSED, SX_DIR_CLIENT, SX_L7_HEADER_LAYOUT, SX_L7_HEADER_SIZE, type TcpConnEvent } from '@sextant/bpf';

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
    l7Records: 1,
    ...o,
  };
}

export interface L7RecordFields {
  sockId: bigint;
  sockIno: bigint;
  tsNs: bigint;
  /** SX_L7_EGRESS or SX_L7_INGRESS. */
  direction: number;
  /** What the syscall moved (latin1 when a string). */
  data: Buffer | string;
  /** Bytes of `data` captured (default all). */
  captured?: number;
  sport: number;
  dport?: number;
  /** SX_PROTO_* (default 0: not classified). */
  protocol?: number;
  saddr?: readonly number[];
  daddr?: readonly number[];
  /** sx_l7_header.kept (SX_KEPT_*: why an aggregated exchange's record was kept; default 0, the full path). */
  kept?: number;
}

const at = (field: string): number => SX_L7_HEADER_LAYOUT[field]!.offset;

/** A client socket's captured syscall (pid 4242, comm `client`, IPv4 TCP, 10.0.0.1 → 10.9.8.7:8080 unless set) in the kernel's layout. */
export function l7Record(f: L7RecordFields): L7Record {
  const data = typeof f.data === 'string' ? Buffer.from(f.data, 'latin1') : f.data;
  const captured = f.captured ?? data.length;
  const buf = Buffer.alloc(SX_L7_HEADER_SIZE + captured);
  buf.writeBigUInt64LE(f.sockId, at('sock_id'));
  buf.writeBigUInt64LE(f.sockIno, at('sock_ino'));
  buf.writeBigUInt64LE(f.tsNs, at('ts_ns'));
  buf.writeUInt32LE(4242, at('pid'));
  buf.writeUInt32LE(data.length, at('total_len'));
  buf.writeUInt32LE(captured, at('captured_len'));
  buf.writeUInt16LE(f.sport, at('sport'));
  buf.writeUInt16LE(f.dport ?? 8080, at('dport'));
  buf.writeUInt8(4, at('family'));
  buf.writeUInt8(6, at('transport')); // TCP
  buf.writeUInt8(f.direction, at('direction'));
  buf.writeUInt8(f.protocol ?? 0, at('protocol'));
  buf.writeUInt8(SX_DIR_CLIENT, at('role'));
  buf.writeUInt8(f.kept ?? 0, at('kept'));
  buf.set(f.saddr ?? [10, 0, 0, 1], at('saddr'));
  buf.set(f.daddr ?? [10, 9, 8, 7], at('daddr'));
  buf.write('client', at('comm'), 'latin1');
  data.copy(buf, SX_L7_HEADER_SIZE, 0, captured);
  return new L7Record(buf, 0, buf.length);
}
