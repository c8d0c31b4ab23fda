/** The L7 ring buffer's records (sx_l7_header + captured bytes), read lazily at the generated layout's offsets. */
import { formatIp } from './addresses';
import { decodeSxL7Header, SX_L7_HEADER_LAYOUT, SX_L7_HEADER_SIZE, type SxL7Header } from './generated/events';

const L7 = SX_L7_HEADER_LAYOUT;

/** One captured send/receive syscall: its header fields, and the first captured bytes of its data. */
export class L7Record {
  constructor(
    private readonly buf: Buffer,
    private readonly off: number,
    private readonly len: number,
  ) {}
  get sockId(): bigint {
    return this.buf.readBigUInt64LE(this.off + L7.sock_id!.offset);
  }
  /** The socket's inode: unique per socket, unlike the kernel address. */
  get sockIno(): bigint {
    return this.buf.readBigUInt64LE(this.off + L7.sock_ino!.offset);
  }
  get tsNs(): bigint {
    return this.buf.readBigUInt64LE(this.off + L7.ts_ns!.offset);
  }
  get totalLen(): number {
    return this.buf.readUInt32LE(this.off + L7.total_len!.offset);
  }
  get direction(): number {
    return this.buf[this.off + L7.direction!.offset]!;
  }
  get role(): number {
    return this.buf[this.off + L7.role!.offset]!;
  }
  get protocol(): number {
    return this.buf[this.off + L7.protocol!.offset]!;
  }
  /** Why a record of an aggregated exchange was kept (SX_KEPT_*); 0 = full path, the record is its only count. */
  get kept(): number {
    return this.buf[this.off + L7.kept!.offset]!;
  }
  /** The captured bytes, copied out so the batch is not kept alive by connection state. */
  data(): Buffer {
    const start = this.off + SX_L7_HEADER_SIZE;
    const captured = this.buf.readUInt32LE(this.off + L7.captured_len!.offset);
    return Buffer.from(this.buf.subarray(start, start + Math.min(captured, this.len - SX_L7_HEADER_SIZE)));
  }
  /** Every header field, addresses formatted. */
  header(): Omit<SxL7Header, 'saddr' | 'daddr'> & { saddr: string; daddr: string } {
    const h = decodeSxL7Header(this.buf, this.off);
    return { ...h, saddr: formatIp(h.saddr, h.family), daddr: formatIp(h.daddr, h.family) };
  }
}
