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
export class LengthPrefixedFramer {
  private readonly carry = new Carry();
  private state: 'size' | 'payload' | 'desync' = 'size';
  private remaining = 0;
  private size = 0;
  private startTs = 0n;
  private parts: Buffer[] = [];
  private collected = 0;
  private truncated = false;

  constructor(
    private readonly prefixBytes: 2 | 4,
    private readonly maxFrameBytes: number,
    private readonly collectLimit: number,
    private readonly counters: ByteCounters,
    private readonly sink: FrameSink,
    /** Whether a chunk that starts with `data` can be the start of a frame (after a loss of framing). */
    private readonly resync: (data: Buffer) => boolean,
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
      this.state = 'size';
    }
    const { buf, firstTs, carried } = this.carry.join(data, ts);
    let pos = 0;
    while (pos < buf.length) {
      if (this.state === 'size') {
        if (buf.length - pos < this.prefixBytes) {
          this.carry.keep(buf.subarray(pos), pos < carried ? firstTs : ts);
          return;
        }
        const size = this.prefixBytes === 2 ? buf.readUInt16BE(pos) : buf.readInt32BE(pos);
        if (size < 0 || size > this.maxFrameBytes) {
          this.loseSync(buf.length - pos);
          return;
        }
        this.startTs = pos < carried ? firstTs : ts;
        this.counters.parsed += this.prefixBytes;
        pos += this.prefixBytes;
        this.size = size;
        this.remaining = size;
        this.parts = [];
        this.collected = 0;
        this.truncated = false;
        this.state = 'payload';
        if (size === 0) this.finishFrame();
      } else if (this.state === 'payload') {
        const n = Math.min(this.remaining, buf.length - pos);
        const room = this.collectLimit - this.collected;
        if (!this.truncated && room > 0) {
          const take = Math.min(n, room);
          this.parts.push(Buffer.from(buf.subarray(pos, pos + take)));
          this.collected += take;
          if (take < n) this.truncated = true;
        } else this.truncated = true;
        this.counters.parsed += n;
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) this.finishFrame();
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
      if (this.remaining === 0) this.finishFrame();
      return;
    }
    if (this.state === 'payload') {
      // The frame ends inside the gap and the next size prefix was not seen.
      const rest = this.remaining;
      this.truncated = true;
      this.counters.parsed += rest;
      this.remaining = 0;
      this.finishFrame();
      this.loseSync(n - rest);
      return;
    }
    this.loseSync(n);
  }

  /** At close: an incomplete size prefix is unparsed (an incomplete payload was framed, so it stays parsed). */
  discard(): void {
    this.counters.unparsed += this.carry.clear();
    this.parts = [];
    this.state = 'size';
  }

  private loseSync(unparsed: number): void {
    this.counters.unparsed += unparsed + this.carry.clear();
    this.parts = [];
    this.state = 'desync';
  }

  private finishFrame(): void {
    const frame = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.state = 'size';
    this.sink.onFrame(frame, !this.truncated && frame.length === this.size, this.startTs, this.size + this.prefixBytes);
  }
}
