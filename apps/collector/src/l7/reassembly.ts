/**
 * Per-direction stream reassembly for the L7 engine. The kernel hands over the first bytes of each syscall
 * and the syscall's full length, so a stream is a sequence of captured bytes and known-length gaps. Parsers
 * keep only what they cannot consume yet (an incomplete header, line or frame prefix) in a bounded carry
 * buffer; bodies and frames are skipped by length, and may skip gap bytes exactly.
 */

/** Bytes of one connection that were understood (parsed) or not (unparsed), for coverage reporting. */
export interface ByteCounters {
  parsed: number;
  unparsed: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * The unconsumed tail of one direction, with the time of its first byte (the start of the message that is
 * still incomplete). join() returns carry + new data as one buffer and where the new data starts.
 */
export class Carry {
  private buf: Buffer = EMPTY;
  private ts = 0n;

  get length(): number {
    return this.buf.length;
  }

  /** Carry + data; `firstTs` is the time of the first returned byte, `carried` how many came from the carry. */
  join(data: Buffer, ts: bigint): { buf: Buffer; firstTs: bigint; carried: number } {
    if (this.buf.length === 0) return { buf: data, firstTs: ts, carried: 0 };
    const carried = this.buf.length;
    const out = { buf: Buffer.concat([this.buf, data]), firstTs: this.ts, carried };
    this.buf = EMPTY;
    return out;
  }

  /** Keeps `rest` (copied: the caller's buffer may be reused) whose first byte arrived at `ts`. */
  keep(rest: Buffer, ts: bigint): void {
    this.buf = Buffer.from(rest);
    this.ts = ts;
  }

  /** Drops the carry; returns how many bytes were dropped. */
  clear(): number {
    const n = this.buf.length;
    this.buf = EMPTY;
    return n;
  }
}

/** What a reader's head() did with the bytes at `pos`: the position after the head, or one of these. */
export const HEAD_INCOMPLETE = -1; // the head continues in a later chunk: carry the rest
export const HEAD_INVALID = -2; // not a plausible head: the framing is lost

/**
 * A stream of [head][payload] frames over captures and gaps, the part every framed protocol shares: the carry
 * of an incomplete head, payloads collected up to `collectLimit` (or skipped) and counted by length, gap bytes
 * skipped inside a payload, and a loss of framing when a gap hides a head or a head is implausible; then
 * chunks are dropped (unparsed) until one that `resync` accepts. A subclass reads heads and starts payloads.
 */
export abstract class FramedReader {
  private readonly carry = new Carry();
  private state: 'head' | 'payload' | 'desync' = 'head';
  private remaining = 0;
  private collecting = false;
  private parts: Buffer[] = [];
  private collected = 0;
  private truncated = false;

  constructor(
    protected readonly counters: ByteCounters,
    private readonly collectLimit: number,
  ) {}

  get inSync(): boolean {
    return this.state !== 'desync';
  }

  feed(data: Buffer, ts: bigint): void {
    if (this.state === 'desync') {
      if (!this.resync(data)) {
        this.counters.unparsed += data.length;
        return;
      }
      this.state = 'head';
    }
    const { buf, firstTs, carried } = this.carry.join(data, ts);
    let pos = 0;
    while (pos < buf.length) {
      if (this.state === 'head') {
        const at = pos < carried ? firstTs : ts;
        const next = this.head(buf, pos, at);
        if (next === HEAD_INCOMPLETE) return this.carry.keep(buf.subarray(pos), at);
        if (next === HEAD_INVALID) return this.loseSync(buf.length - pos);
        pos = next;
      } else if (this.state === 'payload') {
        const n = Math.min(this.remaining, buf.length - pos);
        this.take(buf.subarray(pos, pos + n));
        pos += n;
      } else return;
    }
  }

  /** `n` bytes moved by the syscall past what was captured. */
  gap(n: number): void {
    if (n <= 0) return;
    if (this.state === 'payload' && n <= this.remaining) {
      this.truncated = true;
      this.counters.parsed += n;
      this.remaining -= n;
      if (this.remaining === 0) this.finishPayload();
      return;
    }
    if (this.state === 'payload') {
      // The frame ends inside the gap and the next head was not seen.
      const rest = this.remaining;
      this.truncated = true;
      this.counters.parsed += rest;
      this.remaining = 0;
      this.finishPayload();
      n -= rest;
    }
    this.loseSync(n);
  }

  /** At close: an incomplete head is unparsed (an incomplete payload was framed, so it stays parsed). */
  discard(): void {
    this.counters.unparsed += this.carry.clear();
    this.parts = [];
  }

  /**
   * Reads a head at `pos` (its first byte arrived at `ts`): counts its bytes parsed and calls startPayload(), or
   * returns HEAD_INCOMPLETE / HEAD_INVALID. Returns the position after what it consumed.
   */
  protected abstract head(buf: Buffer, pos: number, ts: bigint): number;
  /** A collected payload is complete or truncated (`complete`: every byte captured, within the limit). */
  protected abstract payload(payload: Buffer, complete: boolean): void;
  /** Whether a chunk that starts with `data` can start a frame (after a loss of framing). */
  protected abstract resync(data: Buffer): boolean;
  /** The framing was just lost. */
  protected onLoseSync(): void {}

  /** Starts a payload of `length` bytes, collected (up to the limit) or only skipped. */
  protected startPayload(length: number, collect: boolean): void {
    this.remaining = length;
    this.collecting = collect;
    this.parts = [];
    this.collected = 0;
    this.truncated = false;
    this.state = 'payload';
    if (length === 0) this.finishPayload();
  }

  /** Back to reading a head, whatever the state (a new stream after close). */
  protected restart(): void {
    this.state = 'head';
  }

  private take(bytes: Buffer): void {
    if (this.collecting && !this.truncated) {
      const keep = Math.min(this.collectLimit - this.collected, bytes.length);
      if (keep > 0) this.parts.push(Buffer.from(bytes.subarray(0, keep)));
      this.collected += keep;
      if (keep < bytes.length) this.truncated = true;
    }
    this.counters.parsed += bytes.length;
    this.remaining -= bytes.length;
    if (this.remaining === 0) this.finishPayload();
  }

  private finishPayload(): void {
    this.state = 'head';
    if (!this.collecting) return;
    const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.payload(payload, !this.truncated);
  }

  private loseSync(unparsed: number): void {
    this.counters.unparsed += unparsed + this.carry.clear();
    this.parts = [];
    this.state = 'desync';
    this.onLoseSync();
  }
}

/** Receives the frames of a length-prefixed stream. `frame` is the captured prefix of the payload. */
export interface FrameSink {
  /** complete: the whole payload was captured (no gap, within the collect limit). */
  onFrame(frame: Buffer, complete: boolean, startTs: bigint, totalBytes: number): void;
}

/**
 * A stream of [size prefix][payload] frames (DNS over TCP: 2 bytes; Kafka: 4 bytes, big-endian). Captured
 * payload bytes are collected up to `collectLimit`; the rest, including gap bytes, is skipped by length.
 * A gap inside a size prefix loses the framing: the stream waits for a chunk that `resync` accepts.
 */
export class LengthPrefixedFramer extends FramedReader {
  private size = 0;
  private startTs = 0n;

  constructor(
    private readonly prefixBytes: 2 | 4,
    private readonly maxFrameBytes: number,
    collectLimit: number,
    counters: ByteCounters,
    private readonly sink: FrameSink,
    /** Whether a chunk that starts with `data` can be the start of a frame (after a loss of framing). */
    private readonly canStart: (data: Buffer) => boolean,
  ) {
    super(counters, collectLimit);
  }

  /** At close: as FramedReader's, and the next bytes start a frame. */
  override discard(): void {
    super.discard();
    this.restart();
  }

  protected head(buf: Buffer, pos: number, ts: bigint): number {
    if (buf.length - pos < this.prefixBytes) return HEAD_INCOMPLETE;
    const size = this.prefixBytes === 2 ? buf.readUInt16BE(pos) : buf.readInt32BE(pos);
    if (size < 0 || size > this.maxFrameBytes) return HEAD_INVALID;
    this.startTs = ts;
    this.counters.parsed += this.prefixBytes;
    this.size = size;
    this.startPayload(size, true);
    return pos + this.prefixBytes;
  }

  protected payload(frame: Buffer, complete: boolean): void {
    this.sink.onFrame(frame, complete && frame.length === this.size, this.startTs, this.size + this.prefixBytes);
  }

  protected resync(data: Buffer): boolean {
    return this.canStart(data);
  }
}
