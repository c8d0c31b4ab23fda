/**
 * HTTP/1.0 and 1.1 framing for one direction of a connection: message heads are parsed, bodies are skipped
 * by Content-Length, by chunk sizes (extensions and trailers included) or until close, without buffering
 * them. Gaps (bytes the kernel did not capture) are skipped exactly when they fall inside a body; a gap in
 * a head loses sync until a chunk starts with a request or status line. Pairing lives in http-pairing.ts.
 */
import { Carry, type ByteCounters } from './reassembly';

export interface HttpHead {
  /** Request: method, target, version. Response: version, code. */
  method?: string;
  target?: string;
  code?: number;
  version: string;
  /** Header names lower-cased, values trimmed, in order. */
  headers: [string, string][];
  contentLength?: number;
  chunked: boolean;
  /** A Transfer-Encoding other than chunked: the body length is unknown. */
  otherEncoding: boolean;
  headBytes: number;
}

/** How the body after a head is delimited; decided by the pairing (a response's depends on its request). */
export type BodyFraming =
  { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'opaque' };

export interface HttpStreamSink {
  onHead(head: HttpHead, startTs: bigint): BodyFraming;
  /** The message that started with the last head ended; `bytes` = head + body (gap bytes included). */
  onMessageEnd(bytes: number): void;
  /** Sync was lost; `midMessage` when a head had been parsed and its body was not finished. */
  onDesync(midMessage: boolean): void;
}

const METHOD = /^[A-Z][A-Z_-]{0,19}$/;
const MAX_LINE = 4096;
/** Writes one head may be split into (real clients use one or a few). */
const MAX_HEAD_PIECES = 256;
/** "0\r\n\r\n": the last chunk of a chunked body without trailers. */
const LAST_CHUNK_BYTES = 5;
const CRLF2 = Buffer.from('\r\n\r\n');
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];
const METHOD_PREFIXES = HTTP_METHODS.map((m) => Buffer.from(`${m} `));
const STATUS_PREFIX = Buffer.from('HTTP/1.');

/** Cheap check that a chunk starts with a request line of a common method. */
export function startsWithRequestLine(data: Buffer): boolean {
  if (data.length < 4) return false;
  const c = data[0]!;
  if (c < 65 || c > 90) return false;
  for (const p of METHOD_PREFIXES) if (data.length >= p.length && data.compare(p, 0, p.length, 0, p.length) === 0) return true;
  return false;
}

/** Cheap check that a chunk starts with an HTTP/1.x status line. */
export function startsWithStatusLine(data: Buffer): boolean {
  return data.length >= 12 && data.compare(STATUS_PREFIX, 0, 7, 0, 7) === 0 && data[8] === 32;
}

/** Parses a head (start line + header lines, without the final empty line); null when it is not HTTP/1.x. */
// tchar (RFC 9110 §5.6.2): 1 = allowed, 2 = an upper-case letter (allowed, lower-cased for the name).
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 2;

/** The header name at text[from, to) lower-cased, or null when it is not a token. */
function headerName(text: string, from: number, to: number): string | null {
  let upper = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const t = c < 128 ? TCHAR[c] : 0;
    if (!t) return null;
    if (t === 2) upper = true;
  }
  const name = text.slice(from, to);
  return upper ? name.toLowerCase() : name;
}

/**
 * Parses a message head (start line and header lines, without the blank line). Scans the string in place:
 * this runs for every captured request and response.
 */
export function parseHead(text: string, kind: 'request' | 'response'): HttpHead | null {
  const eol = text.indexOf('\r\n');
  const startEnd = eol < 0 ? text.length : eol;
  const head: HttpHead = { version: '', headers: [], chunked: false, otherEncoding: false, headBytes: 0 };
  if (kind === 'request') {
    const start = text.slice(0, startEnd);
    const sp1 = start.indexOf(' ');
    const sp2 = start.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1 + 1) return null;
    const method = start.slice(0, sp1);
    const version = start.slice(sp2 + 1);
    const target = start.slice(sp1 + 1, sp2);
    if (!METHOD.test(method) || (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') || target.includes(' ')) return null;
    head.method = method;
    head.target = target;
    head.version = version;
  } else {
    // "HTTP/1.x NNN" then a space or the end of the line
    if (startEnd < 12 || !text.startsWith('HTTP/1.') || (text[7] !== '0' && text[7] !== '1') || text[8] !== ' ') return null;
    if (startEnd > 12 && text[12] !== ' ') return null;
    const d0 = text.charCodeAt(9) - 48,
      d1 = text.charCodeAt(10) - 48,
      d2 = text.charCodeAt(11) - 48;
    if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return null;
    head.version = text.slice(0, 8);
    head.code = d0 * 100 + d1 * 10 + d2;
  }
  for (let pos = eol < 0 ? text.length : eol + 2; pos < text.length;) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    // no colon on this line, or a line starting with one: obs-fold or junk, tolerated as most servers do
    const name = colon > pos && colon < end ? headerName(text, pos, colon) : null;
    if (name !== null) {
      const value = text.slice(colon + 1, end).trim();
      head.headers.push([name, value]);
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return null;
        const n = Number(value);
        if (head.contentLength !== undefined && head.contentLength !== n) return null;
        head.contentLength = n;
      } else if (name === 'transfer-encoding') {
        const codings = value
          .toLowerCase()
          .split(',')
          .map((c) => c.trim());
        head.chunked = codings[codings.length - 1] === 'chunked';
        head.otherEncoding = !head.chunked;
      }
    }
    pos = end + 2;
  }
  return head;
}

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'trailers' | 'close' | 'desync' | 'opaque';

/** One direction of an HTTP/1.x connection. */
export class HttpStream {
  private state: State = 'head';
  private readonly carry = new Carry();
  private remaining = 0;
  private messageBytes = 0;
  private headPieces = 0;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly maxHeadBytes: number,
    private readonly counters: ByteCounters,
    private readonly sink: HttpStreamSink,
  ) {}

  /** Between messages: no head or body in progress, nothing carried. */
  get idle(): boolean {
    return this.state === 'head' && this.carry.length === 0;
  }

  get inSync(): boolean {
    return this.state !== 'desync';
  }

  /** From now on the bytes are not HTTP (after 101 Switching Protocols or a CONNECT tunnel). */
  becomeOpaque(): void {
    this.counters.unparsed += this.carry.clear();
    this.state = 'opaque';
  }

  feed(data: Buffer, ts: bigint): void {
    if (this.state === 'opaque') {
      this.counters.unparsed += data.length;
      return;
    }
    if (this.state === 'desync') {
      const ok = this.kind === 'request' ? startsWithRequestLine(data) : startsWithStatusLine(data);
      if (!ok) {
        this.counters.unparsed += data.length;
        return;
      }
      this.state = 'head';
    }
    const { buf, firstTs, carried } = this.carry.join(data, ts);
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'head': {
          // Empty lines between messages are allowed (RFC 9112 §2.2).
          while (pos + 1 < buf.length && buf[pos] === 13 && buf[pos + 1] === 10) {
            pos += 2;
            this.counters.parsed += 2;
          }
          if (pos >= buf.length) return;
          // The carried part of a head holds no blank line yet: search only where one could now end.
          const end = buf.indexOf(CRLF2, pos < carried ? Math.max(pos, carried - 3) : pos);
          if (end < 0) {
            // Bounded work per head: each piece re-copies the carry, so a head may come in few pieces.
            if (buf.length - pos > this.maxHeadBytes || ++this.headPieces > MAX_HEAD_PIECES) return this.loseSync(buf.length - pos);
            this.carry.keep(buf.subarray(pos), pos < carried ? firstTs : ts);
            return;
          }
          this.headPieces = 0;
          const headBytes = end + 4 - pos;
          if (headBytes > this.maxHeadBytes) return this.loseSync(buf.length - pos);
          const head = parseHead(buf.toString('latin1', pos, end), this.kind);
          if (!head) return this.loseSync(buf.length - pos);
          head.headBytes = headBytes;
          const startTs = pos < carried ? firstTs : ts;
          pos += headBytes;
          this.counters.parsed += headBytes;
          this.messageBytes = headBytes;
          this.startBody(this.sink.onHead(head, startTs));
          if ((this.state as State) === 'opaque') {
            this.counters.unparsed += buf.length - pos;
            return;
          }
          break;
        }
        case 'body':
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length - pos);
          pos += n;
          this.skipped(n);
          break;
        }
        case 'chunk-size':
        case 'trailers': {
          const nl = buf.indexOf(10, pos);
          if (nl < 0) {
            if (buf.length - pos > MAX_LINE) return this.loseSync(buf.length - pos);
            this.carry.keep(buf.subarray(pos), pos < carried ? firstTs : ts);
            return;
          }
          const line = buf.toString('latin1', pos, nl).replace(/\r$/, '');
          const n = nl + 1 - pos;
          pos += n;
          this.counters.parsed += n;
          this.messageBytes += n;
          if (this.state === 'trailers') {
            if (line === '') this.endMessage();
            break;
          }
          const sizeText = line.split(';', 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) return this.loseSync(buf.length - pos, true);
          const size = parseInt(sizeText, 16);
          if (size === 0) this.state = 'trailers';
          else {
            this.state = 'chunk-data';
            this.remaining = size + 2; // data + CRLF
          }
          break;
        }
        case 'close':
          this.counters.parsed += buf.length - pos;
          this.messageBytes += buf.length - pos;
          return;
        default:
          this.counters.unparsed += buf.length - pos;
          return;
      }
    }
  }

  /** `n` bytes moved by the syscall past the captured ones. */
  gap(n: number): void {
    if (n <= 0) return;
    switch (this.state) {
      case 'body':
      case 'chunk-data': {
        const k = Math.min(n, this.remaining);
        this.skipped(k);
        if (k === n) return;
        // A write that ends a chunked body ends with the last chunk "0\r\n\r\n": when exactly those 5
        // bytes are missing after the data, the message ended there (no 5-byte chunk is possible).
        if ((this.state as State) === 'chunk-size' && n - k === LAST_CHUNK_BYTES && this.carry.length === 0) {
          this.counters.parsed += LAST_CHUNK_BYTES;
          this.messageBytes += LAST_CHUNK_BYTES;
          this.endMessage();
          return;
        }
        this.loseSync(n - k); // the next head (or chunk-size line) began inside the gap
        return;
      }
      case 'close':
        this.counters.parsed += n;
        this.messageBytes += n;
        return;
      case 'head': // the next head (or the rest of this one) was not captured
        return this.loseSync(n);
      case 'chunk-size':
        if (n === LAST_CHUNK_BYTES && this.carry.length === 0) {
          this.counters.parsed += n;
          this.messageBytes += n;
          return this.endMessage();
        }
        return this.loseSync(n, true);
      case 'trailers':
        return this.loseSync(n, true);
      default:
        this.counters.unparsed += n;
    }
  }

  /** The connection closed: a close-delimited body ends here; anything incomplete is unparsed. */
  close(): void {
    if (this.state === 'close') this.endMessage();
    this.counters.unparsed += this.carry.clear();
  }

  private startBody(framing: BodyFraming): void {
    switch (framing.kind) {
      case 'none':
        this.endMessage();
        return;
      case 'length':
        if (framing.length === 0) return this.endMessage();
        this.state = 'body';
        this.remaining = framing.length;
        return;
      case 'chunked':
        this.state = 'chunk-size';
        return;
      case 'close':
        this.state = 'close';
        return;
      case 'opaque':
        this.sink.onMessageEnd(this.messageBytes);
        this.state = 'opaque';
    }
  }

  private skipped(n: number): void {
    this.counters.parsed += n;
    this.messageBytes += n;
    this.remaining -= n;
    if (this.remaining > 0) return;
    if (this.state === 'body') this.endMessage();
    else this.state = 'chunk-size';
  }

  private endMessage(): void {
    this.state = 'head';
    this.sink.onMessageEnd(this.messageBytes);
  }

  private loseSync(unparsed: number, midMessage = this.state !== 'head'): void {
    this.headPieces = 0;
    this.counters.unparsed += unparsed + this.carry.clear();
    this.state = 'desync';
    this.sink.onDesync(midMessage);
  }
}
