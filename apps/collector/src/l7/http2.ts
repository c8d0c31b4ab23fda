/**
 * HTTP/2 (h2c) connections for the engine: both directions framed by http2-frames.ts, header blocks
 * (HEADERS + CONTINUATION) decoded by one HPACK decoder per direction, streams paired by id with many in
 * flight. Latency is request HEADERS → first final response HEADERS. A header block that was not captured
 * whole (a large write past the capture limit) is never guessed: its stream is marked not decodable, and so
 * is every later block of that direction, because the block may have changed the HPACK dynamic table.
 */
import { FLAG, FRAME, Http2FrameReader, type FrameHeader } from './http2-frames';
import { applyRequestHeaders, applyResponseHeaders, h2ErrorName, streamExchange, type H2Stream, type NotDecodable } from './http2-stream';
import { HpackDecoder } from './hpack';
import type { ByteCounters } from './reassembly';
import type { QueryRedactor } from './redact';
import type { L7Chunk, L7Exchange } from './types';

export interface Http2Options {
  redactor: QueryRedactor;
  keepHeaders: ReadonlySet<string>;
  /** Largest header block (and collected frame payload) kept for decoding; larger ones are not decodable. */
  maxBlockBytes: number;
  /** Streams in flight per connection (oldest dropped beyond, counted unanswered). */
  maxStreams: number;
}

interface Block {
  streamId: number;
  push: boolean;
  parts: Buffer[];
  bytes: number;
  complete: boolean;
  ts: bigint;
  endStream: boolean;
}

interface Side {
  reader: Http2FrameReader;
  hpack: HpackDecoder;
  tableLost: boolean;
  block?: Block;
}

const SETTINGS_HEADER_TABLE_SIZE = 1;
/** Header fields kept per block (the rest are still decoded for the table). */
const MAX_FIELDS = 128;

export class Http2Connection {
  private readonly streams = new Map<number, H2Stream>();
  private readonly request: Side;
  private readonly response: Side;
  private out: L7Exchange[] = [];
  /** Request frames were missed at least once: streams may be first seen by their response. */
  private requestFramingLost = false;

  constructor(
    private readonly connId: bigint,
    private readonly role: 'client' | 'server',
    private readonly opts: Http2Options,
    counters: ByteCounters,
    private readonly stats: { unanswered: number; orphanResponses: number },
  ) {
    const side = (isRequest: boolean): Side => {
      const s: Side = {
        hpack: new HpackDecoder(),
        tableLost: false,
        reader: new Http2FrameReader(isRequest, opts.maxBlockBytes, counters, {
          onFrame: (h, payload, complete, ts) => this.frame(s, isRequest, h, payload, complete, ts),
          onDesync: () => this.desync(s, isRequest),
        }),
      };
      return s;
    };
    this.request = side(true);
    this.response = side(false);
  }

  feed(chunk: L7Chunk, which: 'request' | 'response', out: L7Exchange[]): void {
    this.out = out;
    const side = which === 'request' ? this.request : this.response;
    if (chunk.data.length > 0) side.reader.feed(chunk.data, chunk.timestampNs);
    side.reader.gap(chunk.totalLength - chunk.data.length);
  }

  /** Connection closed: streams that saw a response (or a loss) come out as they are, the rest unanswered. */
  close(out: L7Exchange[]): void {
    this.out = out;
    this.request.reader.discard();
    this.response.reader.discard();
    for (const s of [...this.streams.values()]) {
      if (s.responseTs === undefined && !s.notDecodable && !s.reset) this.stats.unanswered++;
      this.finish(s);
    }
  }

  private frame(side: Side, isRequest: boolean, h: FrameHeader, payload: Buffer | undefined, complete: boolean, ts: bigint): void {
    if (side.block && h.type !== FRAME.CONTINUATION) {
      // A header block must be continued by CONTINUATION frames only: what it held is lost.
      this.endBlock(side, isRequest, false);
    }
    switch (h.type) {
      case FRAME.HEADERS:
      case FRAME.PUSH_PROMISE:
        return this.startBlock(side, isRequest, h, payload!, complete, ts);
      case FRAME.CONTINUATION: {
        const b = side.block;
        if (!b || b.streamId !== h.streamId) {
          side.tableLost = true; // the block this continues was missed
          return;
        }
        this.addFragment(b, payload!, complete, h.length);
        if (h.flags & FLAG.END_HEADERS) this.endBlock(side, isRequest, true);
        return;
      }
      case FRAME.DATA: {
        const s = this.streams.get(h.streamId);
        if (!s) return;
        if (isRequest) s.requestBytes += h.length;
        else {
          s.responseBytes += h.length;
          if (h.flags & FLAG.END_STREAM) this.finish(s);
        }
        return;
      }
      case FRAME.RST_STREAM: {
        const s = this.streams.get(h.streamId);
        if (!s) return;
        s.reset = complete && payload!.length >= 4 ? h2ErrorName(payload!.readUInt32BE(0)) : 'unknown';
        this.finish(s);
        return;
      }
      case FRAME.SETTINGS:
        if (h.flags & FLAG.ACK || !complete) return;
        for (let p = 0; p + 6 <= payload!.length; p += 6) {
          // A side's SETTINGS bound the table of the blocks the other side sends it.
          if (payload!.readUInt16BE(p) === SETTINGS_HEADER_TABLE_SIZE)
            (isRequest ? this.response : this.request).hpack.allowSize(payload!.readUInt32BE(p + 2));
        }
        return;
      case FRAME.GOAWAY: {
        if (!complete || payload!.length < 8) return;
        // Streams the sender of GOAWAY never processed: above its last stream id, opened by the other side.
        const last = payload!.readUInt32BE(0) & 0x7fffffff;
        for (const s of [...this.streams.values()]) {
          if (s.id > last && !isRequest) {
            s.reset = 'REFUSED_STREAM';
            this.finish(s);
          }
        }
        return;
      }
    }
  }

  private startBlock(side: Side, isRequest: boolean, h: FrameHeader, payload: Buffer, complete: boolean, ts: bigint): void {
    // Padding length (PADDED), then priority fields (HEADERS with PRIORITY) or the promised id (PUSH_PROMISE).
    const padded = (h.flags & FLAG.PADDED) !== 0;
    const pad = padded ? (payload[0] ?? 0) : 0;
    let start = padded ? 1 : 0;
    if (h.type === FRAME.HEADERS && h.flags & FLAG.PRIORITY) start += 5;
    if (h.type === FRAME.PUSH_PROMISE) start += 4;
    const end = h.length - pad;
    const ok = complete && (!padded || payload.length >= 1) && end >= start;
    const b: Block = {
      streamId: h.streamId,
      push: h.type === FRAME.PUSH_PROMISE,
      parts: [],
      bytes: 0,
      complete: ok,
      ts,
      endStream: h.type === FRAME.HEADERS && (h.flags & FLAG.END_STREAM) !== 0,
    };
    if (ok) this.addFragment(b, payload.subarray(start, end), true, end - start);
    side.block = b;
    if (h.flags & FLAG.END_HEADERS) this.endBlock(side, isRequest, true);
  }

  private addFragment(b: Block, fragment: Buffer, complete: boolean, length: number): void {
    b.bytes += length;
    if (!complete || !b.complete || b.bytes > this.opts.maxBlockBytes) {
      b.complete = false;
      b.parts = [];
      return;
    }
    b.parts.push(fragment);
  }

  /** A header block ended (`whole`: with END_HEADERS; else interrupted). Decodes it and applies it. */
  private endBlock(side: Side, isRequest: boolean, whole: boolean): void {
    const b = side.block!;
    side.block = undefined;
    let fields: [string, string][] | undefined;
    let lost: NotDecodable | undefined;
    if (side.tableLost) lost = 'table-lost';
    else if (!whole || !b.complete) {
      lost = 'truncated';
      side.tableLost = true;
    } else {
      try {
        fields = side.hpack.decode(b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts), MAX_FIELDS).fields;
      } catch {
        lost = 'table-lost'; // the block is whole, so what we hold of the table is wrong
        side.tableLost = true;
      }
    }
    if (b.push) return; // pushed responses are not exchanges of this client; decoded for the table only
    if (isRequest) this.requestBlock(b, fields, lost);
    else this.responseBlock(b, fields, lost);
  }

  private requestBlock(b: Block, fields: [string, string][] | undefined, lost: NotDecodable | undefined): void {
    if (this.streams.has(b.streamId)) return; // request trailers
    const s: H2Stream = { id: b.streamId, requestTs: b.ts, grpc: false, headers: [], requestBytes: 0, responseBytes: 0 };
    if (fields) applyRequestHeaders(s, fields, this.opts.keepHeaders);
    if (lost) s.notDecodable = lost;
    this.track(s);
  }

  private track(s: H2Stream): void {
    this.streams.set(s.id, s);
    while (this.streams.size > this.opts.maxStreams) {
      const oldest = this.streams.keys().next().value as number;
      this.streams.delete(oldest);
      this.stats.unanswered++;
    }
  }

  private responseBlock(b: Block, fields: [string, string][] | undefined, lost: NotDecodable | undefined): void {
    let s = this.streams.get(b.streamId);
    if (!s && b.streamId % 2 === 1 && this.requestFramingLost) {
      // Its request was in bytes the capture missed (framing lost): the stream is known from its response.
      s = { id: b.streamId, requestTs: b.ts, requestUnseen: true, grpc: false, headers: [], requestBytes: 0, responseBytes: 0 };
      s.notDecodable = 'truncated';
      this.track(s);
    }
    if (!s) {
      if (b.streamId % 2 === 1) this.stats.orphanResponses++;
      return;
    }
    if (fields) {
      if (!applyResponseHeaders(s, fields, this.opts.keepHeaders, b.ts)) return;
    } else {
      s.notDecodable ??= lost;
      s.responseTs ??= b.ts;
    }
    if (b.endStream) this.finish(s);
  }

  /** Framing lost: a block in progress is lost, later blocks are not decodable, open streams may miss frames. */
  private desync(side: Side, isRequest: boolean): void {
    if (side.block) this.endBlock(side, isRequest, false);
    side.tableLost = true;
    if (isRequest) this.requestFramingLost = true;
    if (!isRequest) for (const s of this.streams.values()) s.notDecodable ??= 'truncated';
  }

  private finish(s: H2Stream): void {
    if (!this.streams.delete(s.id)) return;
    this.out.push(streamExchange(s, this.connId, this.role, this.opts.redactor));
  }
}
