/**
 * HTTP/2 framing (RFC 9113 §4, §6) for one direction of one connection, over the kernel's captures: the
 * client's connection preface, then 9-byte frame headers and payloads. Payloads that carry state (header
 * blocks, SETTINGS, RST_STREAM, GOAWAY) are collected up to a limit; the rest (DATA, PING, WINDOW_UPDATE,
 * PRIORITY, unknown types) are skipped by length, gap bytes included. A gap that runs past the frame it
 * started in hides the next frame header: the direction loses its framing and waits for a chunk that starts
 * with a plausible frame (a syscall usually starts on a frame boundary).
 */
import { FramedReader, HEAD_INCOMPLETE, HEAD_INVALID, type ByteCounters } from './reassembly';

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

export class Http2FrameReader extends FramedReader {
  private header: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  private headerTs = 0n;
  /** Bytes of the client preface read so far; null once past it (or when none is expected, or after a resync). */
  private prefaceSeen: number | null;

  constructor(
    expectPreface: boolean,
    collectLimit: number,
    counters: ByteCounters,
    private readonly sink: FrameSink,
  ) {
    super(counters, collectLimit);
    this.prefaceSeen = expectPreface ? 0 : null;
  }

  protected head(buf: Buffer, pos: number, ts: bigint): number {
    if (this.prefaceSeen !== null) {
      const n = Math.min(PREFACE.length - this.prefaceSeen, buf.length - pos);
      if (buf.compare(PREFACE, this.prefaceSeen, this.prefaceSeen + n, pos, pos + n) !== 0) return HEAD_INVALID;
      this.counters.parsed += n;
      this.prefaceSeen += n;
      if (this.prefaceSeen === PREFACE.length) this.prefaceSeen = null;
      return pos + n;
    }
    if (buf.length - pos < HEADER) return HEAD_INCOMPLETE;
    const h = readFrameHeader(buf, pos);
    if (!plausibleFrame(h)) return HEAD_INVALID;
    this.counters.parsed += HEADER;
    this.header = h;
    this.headerTs = ts;
    const collect = COLLECTED.has(h.type);
    if (!collect) this.sink.onFrame(h, undefined, true, ts);
    this.startPayload(h.length, collect);
    return pos + HEADER;
  }

  protected payload(payload: Buffer, complete: boolean): void {
    this.sink.onFrame(this.header, payload, complete, this.headerTs);
  }

  protected resync(data: Buffer): boolean {
    return looksLikeFrames(data);
  }

  protected override onLoseSync(): void {
    this.prefaceSeen = null; // a resync starts on a frame header
    this.sink.onDesync();
  }
}
