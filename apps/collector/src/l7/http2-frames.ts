/**
 * HTTP/2 framing (RFC 9113 §4, §6) for one direction of one connection, over the kernel's captures: the
 * client's connection preface, then 9-byte frame headers and payloads. Payloads that carry state (header
 * blocks, SETTINGS, RST_STREAM, GOAWAY) are collected up to a limit; the rest (DATA, PING, WINDOW_UPDATE,
 * PRIORITY, unknown types) are skipped by length, gap bytes included. A gap that runs past the frame it
 * started in hides the next frame header: the direction loses its framing and waits for a chunk that starts
 * with a plausible frame (a syscall usually starts on a frame boundary).
 */
import { Carry, type ByteCounters } from './reassembly';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Frame types whose payload the connection needs. */
const COLLECTED = new Set<number>([FRAME.HEADERS, FRAME.CONTINUATION, FRAME.PUSH_PROMISE, FRAME.SETTINGS, FRAME.RST_STREAM, FRAME.GOAWAY]);
/** SETTINGS_MAX_FRAME_SIZE's ceiling (RFC 9113 §6.5.2). */
const MAX_FRAME = 2 ** 24 - 1;
const HEADER = 9;

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

export interface FrameSink {
  /**
   * One frame. `payload`: the collected payload for COLLECTED types (complete: every byte captured, within
   * the limit), undefined for skipped types (delivered when their header is read). `ts`: the time of the
   * chunk holding the frame header.
   */
  onFrame(h: FrameHeader, payload: Buffer | undefined, complete: boolean, ts: bigint): void;
  /** Framing lost: frames may have been missed from here until the next resync. */
  onDesync(): void;
}

export function readFrameHeader(buf: Buffer, pos: number): FrameHeader {
  return {
    length: buf.readUIntBE(pos, 3),
    type: buf[pos + 3]!,
    flags: buf[pos + 4]!,
    streamId: buf.readUInt32BE(pos + 5) & 0x7fffffff,
  };
}

/** Whether a frame header could be real: known type, stream id where the type needs one (or not). */
export function plausibleFrame(h: FrameHeader, maxFrame = MAX_FRAME): boolean {
  if (h.type > FRAME.CONTINUATION || h.length > maxFrame) return false;
  switch (h.type) {
    case FRAME.SETTINGS:
      return h.streamId === 0 && (h.flags & ~FLAG.ACK) === 0 && h.length % 6 === 0;
    case FRAME.PING:
      return h.streamId === 0 && h.length === 8 && (h.flags & ~FLAG.ACK) === 0;
    case FRAME.GOAWAY:
      return h.streamId === 0 && h.length >= 8;
    case FRAME.WINDOW_UPDATE:
      return h.length === 4;
    case FRAME.RST_STREAM:
      return h.streamId !== 0 && h.length === 4;
    case FRAME.PRIORITY:
      return h.streamId !== 0 && h.length === 5;
    default:
      return h.streamId !== 0;
  }
}

/** A chunk that may start on a frame boundary: its captured frames chain plausibly to its end. */
export function looksLikeFrames(data: Buffer): boolean {
  let pos = 0;
  let frames = 0;
  while (pos + HEADER <= data.length) {
    // Lengths stay below the default SETTINGS_MAX_FRAME_SIZE when resyncing: fewer false starts.
    if (!plausibleFrame(readFrameHeader(data, pos), 16384)) return false;
    pos += HEADER + data.readUIntBE(pos, 3);
    frames++;
  }
  return frames > 0;
}

export class Http2FrameReader {
  private readonly carry = new Carry();
  private state: 'preface' | 'header' | 'payload' | 'desync';
  private header: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  private headerTs = 0n;
  private remaining = 0;
  private parts: Buffer[] = [];
  private collected = 0;
  private truncated = false;
  private prefaceSeen = 0;

  constructor(
    expectPreface: boolean,
    private readonly collectLimit: number,
    private readonly counters: ByteCounters,
    private readonly sink: FrameSink,
  ) {
    this.state = expectPreface ? 'preface' : 'header';
  }

  get inSync(): boolean {
    return this.state !== 'desync';
  }

  feed(data: Buffer, ts: bigint): void {
    if (this.state === 'desync') {
      if (!looksLikeFrames(data)) {
        this.counters.unparsed += data.length;
        return;
      }
      this.state = 'header';
    }
    const { buf, firstTs, carried } = this.carry.join(data, ts);
    let pos = 0;
    while (pos < buf.length) {
      if (this.state === 'preface') {
        const n = Math.min(PREFACE.length - this.prefaceSeen, buf.length - pos);
        if (buf.compare(PREFACE, this.prefaceSeen, this.prefaceSeen + n, pos, pos + n) !== 0) return this.loseSync(buf.length - pos);
        this.counters.parsed += n;
        this.prefaceSeen += n;
        pos += n;
        if (this.prefaceSeen === PREFACE.length) this.state = 'header';
      } else if (this.state === 'header') {
        if (buf.length - pos < HEADER) {
          this.carry.keep(buf.subarray(pos), pos < carried ? firstTs : ts);
          return;
        }
        const h = readFrameHeader(buf, pos);
        if (!plausibleFrame(h)) return this.loseSync(buf.length - pos);
        this.counters.parsed += HEADER;
        pos += HEADER;
        this.startFrame(h, pos - HEADER < carried ? firstTs : ts);
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
      if (this.remaining === 0) this.finishFrame();
      return;
    }
    if (this.state === 'payload') {
      const rest = this.remaining;
      this.truncated = true;
      this.counters.parsed += rest;
      this.remaining = 0;
      this.finishFrame();
      n -= rest;
    }
    this.loseSync(n);
  }

  /** At close: an incomplete frame header is unparsed. */
  discard(): void {
    this.counters.unparsed += this.carry.clear();
    this.parts = [];
  }

  private startFrame(h: FrameHeader, ts: bigint): void {
    this.header = h;
    this.headerTs = ts;
    this.remaining = h.length;
    this.parts = [];
    this.collected = 0;
    this.truncated = false;
    if (!COLLECTED.has(h.type)) this.sink.onFrame(h, undefined, true, ts);
    this.state = 'payload';
    if (h.length === 0) this.finishFrame();
  }

  private take(bytes: Buffer): void {
    if (COLLECTED.has(this.header.type) && !this.truncated) {
      const room = this.collectLimit - this.collected;
      const keep = Math.min(room, bytes.length);
      if (keep > 0) this.parts.push(Buffer.from(bytes.subarray(0, keep)));
      this.collected += keep;
      if (keep < bytes.length) this.truncated = true;
    }
    this.counters.parsed += bytes.length;
    this.remaining -= bytes.length;
    if (this.remaining === 0) this.finishFrame();
  }

  private finishFrame(): void {
    this.state = 'header';
    if (!COLLECTED.has(this.header.type)) return;
    const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.sink.onFrame(this.header, payload, !this.truncated, this.headerTs);
  }

  private loseSync(unparsed: number): void {
    this.counters.unparsed += unparsed + this.carry.clear();
    this.parts = [];
    this.state = 'desync';
    this.sink.onDesync();
  }
}
