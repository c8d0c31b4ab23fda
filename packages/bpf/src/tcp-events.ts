/**
 * TCP connection events as the collector consumes them: read in place from a ring buffer batch at the
 * generated layout's offsets (sextant_events.h → generated/events.ts), addresses as text.
 */
import { formatIp, isV4Mapped } from './addresses';
import { dataView, SX_TCP_EVENT_LAYOUT, SX_TCP_EVENT_SIZE, type SxTcpEvent } from './generated/events';

export interface TcpConnEvent extends Omit<SxTcpEvent, 'saddr' | 'daddr' | 'bytesAcked' | 'bytesReceived' | 'connectNs'> {
  saddr: string;
  daddr: string;
  /** Counters and the connect latency as numbers (exact below 2^53: 9 PB, 104 days), not BigInts. */
  bytesAcked: number;
  bytesReceived: number;
  connectNs: number;
}

const T = SX_TCP_EVENT_LAYOUT;
const at = (field: string): number => {
  const f = T[field];
  if (!f) throw new Error(`sx_tcp_event has no field ${field}`);
  return f.offset;
};
const T_SOCK_ID = at('sock_id'),
  T_START = at('start_ns'),
  T_END = at('end_ns'),
  T_CONNECT = at('connect_ns'),
  T_CGROUP = at('cgroup_id');
const T_BYTES_ACKED = at('bytes_acked'),
  T_BYTES_RECEIVED = at('bytes_received'),
  T_PID = at('pid'),
  T_SEGS_OUT = at('segs_out');
const T_SEGS_IN = at('segs_in'),
  T_TOTAL_RETRANS = at('total_retrans'),
  T_SRTT = at('srtt_us'),
  T_RETRANSMITS = at('retransmits');
const T_SPORT = at('sport'),
  T_DPORT = at('dport'),
  T_FLAGS = at('tcp_flags'),
  T_KIND = at('kind'),
  T_FAMILY = at('family');
const T_DIRECTION = at('direction'),
  T_CLOSE_REASON = at('close_reason'),
  T_RST_SENT = at('rst_sent'),
  T_RST_RECV = at('rst_recv');
const T_L7_PROTO = at('l7_proto'),
  T_L7_TLS = at('l7_tls'),
  T_L7_RECORDS = at('l7_records');
const T_FINAL = at('final'),
  T_SADDR = at('saddr'),
  T_DADDR = at('daddr'),
  T_COMM = at('comm');
const COMM_LEN = T.comm!.count;

/** A u64 as a number; below 2^30 (nearly always) a small integer, which an object field holds without a box of its own. */
const u64Number = (dv: DataView, at: number): number => {
  const lo = dv.getUint32(at, true);
  const hi = dv.getUint32(at + 4, true);
  return hi === 0 && lo < 0x40000000 ? lo | 0 : lo + hi * 4294967296;
};

// The process names of recent events by their 16 bytes (a few processes make most connections): a name read again
// is four 32-bit compares instead of a search for its NUL and a new string. 64 slots, by a hash of the bytes.
const COMM_SLOTS = 64;
const commWords = new Uint32Array(COMM_SLOTS * 4);
const commText: (string | undefined)[] = new Array<string | undefined>(COMM_SLOTS);

function commAt(buf: Buffer, dv: DataView, at: number): string {
  if (COMM_LEN !== 16) return commFromBytes(buf, at);
  const a = dv.getUint32(at, true);
  const b = dv.getUint32(at + 4, true);
  const c = dv.getUint32(at + 8, true);
  const d = dv.getUint32(at + 12, true);
  const slot = (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ d, 0x27d4eb2d) >>> 26) & (COMM_SLOTS - 1);
  const w = slot * 4;
  const cached = commText[slot];
  if (cached !== undefined && commWords[w] === a && commWords[w + 1] === b && commWords[w + 2] === c && commWords[w + 3] === d)
    return cached;
  const text = commFromBytes(buf, at);
  commWords[w] = a;
  commWords[w + 1] = b;
  commWords[w + 2] = c;
  commWords[w + 3] = d;
  commText[slot] = text;
  return text;
}

/** The name up to its NUL (all COMM_LEN bytes without one). */
function commFromBytes(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 || end > at + COMM_LEN ? at + COMM_LEN : end);
}

/**
 * The TCP event with its addresses as strings; an IPv4 peer of an IPv6 socket (v4-mapped) is IPv4. This runs
 * for every connection a host makes or accepts, so it reads the record in place at the generated layout's
 * offsets into one object of a fixed shape (the generated decoder would also make two Buffer views for the
 * address bytes); a test checks it against `decodeSxTcpEvent` field by field.
 */
export function readTcpEvent(buf: Buffer, off: number): TcpConnEvent {
  const dv = dataView(buf);
  const v4 = buf[off + T_FAMILY] === 4 || isV4Mapped(buf, off + T_SADDR);
  // an IPv6 socket's addresses are 16 bytes even for a v4-mapped peer: format those as IPv6 (mapped → IPv4)
  const width = buf[off + T_FAMILY] === 4 ? 4 : 6;
  return {
    sockId: dv.getBigUint64(off + T_SOCK_ID, true),
    startNs: dv.getBigUint64(off + T_START, true),
    endNs: dv.getBigUint64(off + T_END, true),
    connectNs: u64Number(dv, off + T_CONNECT),
    cgroupId: dv.getBigUint64(off + T_CGROUP, true),
    bytesAcked: u64Number(dv, off + T_BYTES_ACKED),
    bytesReceived: u64Number(dv, off + T_BYTES_RECEIVED),
    pid: dv.getUint32(off + T_PID, true),
    segsOut: dv.getUint32(off + T_SEGS_OUT, true),
    segsIn: dv.getUint32(off + T_SEGS_IN, true),
    totalRetrans: dv.getUint32(off + T_TOTAL_RETRANS, true),
    srttUs: dv.getUint32(off + T_SRTT, true),
    retransmits: dv.getUint32(off + T_RETRANSMITS, true),
    sport: dv.getUint16(off + T_SPORT, true),
    dport: dv.getUint16(off + T_DPORT, true),
    tcpFlags: dv.getUint16(off + T_FLAGS, true),
    kind: buf[off + T_KIND]!,
    family: v4 ? 4 : 6,
    direction: buf[off + T_DIRECTION]!,
    closeReason: buf[off + T_CLOSE_REASON]!,
    rstSent: buf[off + T_RST_SENT]!,
    rstRecv: buf[off + T_RST_RECV]!,
    final: buf[off + T_FINAL]!,
    l7Proto: buf[off + T_L7_PROTO]!,
    l7Tls: buf[off + T_L7_TLS]!,
    l7Records: buf[off + T_L7_RECORDS]!,
    saddr: formatIp(buf, width, off + T_SADDR),
    daddr: formatIp(buf, width, off + T_DADDR),
    comm: commAt(buf, dv, off + T_COMM),
  };
}

/**
 * Whether the record at `off` is an interim report made by a sweep that began before the connection did (its end, the
 * sweep's clock, before its start). The sweep reads the clock once and then walks the socket map; a connection that
 * connects (or is accepted) meanwhile and is met later in the walk has a last report newer than the sweep's clock, so
 * the sweep's `now - last_report_ns` wraps around below zero to a huge age, and the connection, a few microseconds old,
 * is "reported" (sextant_sweep.bpf.h). Such a report is not one: its row would be a second record of a short
 * connection (the outage e2e once stored 101 client ends for 100 curls).
 */
function isReportFromBeforeStart(dv: DataView, buf: Buffer, off: number): boolean {
  return buf[off + T_FINAL] === 0 && dv.getBigUint64(off + T_END, true) < dv.getBigUint64(off + T_START, true);
}

/**
 * A batch from the TCP event ring (ringbuf.cc: each record a u32 length, then the record): its events in order,
 * without the interim reports of connections younger than the sweep that made them (isReportFromBeforeStart).
 */
export function readTcpEvents(buf: Buffer, count: number): TcpConnEvent[] {
  const events: TcpConnEvent[] = [];
  const dv = dataView(buf);
  let off = 0;
  for (let i = 0; i < count && off + 4 <= buf.length; i++) {
    const len = buf.readUInt32LE(off);
    if (len >= SX_TCP_EVENT_SIZE && !isReportFromBeforeStart(dv, buf, off + 4)) events.push(readTcpEvent(buf, off + 4));
    off += 4 + len;
  }
  return events;
}
