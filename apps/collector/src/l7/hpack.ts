/**
 * HPACK header block decoding (RFC 7541) for one direction of one HTTP/2 connection: the static table, the
 * dynamic table with its size updates (bounded by what the peer's SETTINGS allow and by our own cap), integer
 * and string literals (Huffman via hpack-huffman.ts). A block that fails to decode leaves the dynamic table in
 * an unknown state: the caller must treat every later block of that direction as not decodable.
 */
import { L7ParseError } from './errors';
import { huffmanDecode } from './hpack-huffman';

/** RFC 7541 Appendix A. Index 1 is the first entry. */
// prettier-ignore
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** SETTINGS_HEADER_TABLE_SIZE before any SETTINGS say otherwise (RFC 7540 §6.5.2). */
export const DEFAULT_TABLE_SIZE = 4096;
/** Per-entry overhead counted in the table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

export type HeaderField = [name: string, value: string];

export interface DecodedBlock {
  /** The first `maxFields` fields, names and values as latin1 text (one char per octet). */
  fields: HeaderField[];
  /** Fields in the block beyond `maxFields` (decoded for the table, not returned). */
  dropped: number;
}

export class HpackDecoder {
  /** Newest first: index 62 is entries[0]. */
  private entries: HeaderField[] = [];
  private sizes: number[] = [];
  private size = 0;
  private maxSize = DEFAULT_TABLE_SIZE;
  /** The largest size the encoder may choose: the decoder side's SETTINGS (any value it ever sent). */
  private allowed = DEFAULT_TABLE_SIZE;

  /**
   * `cap`: the most table memory we keep; an encoder asking for more makes the block undecodable.
   * `initialSize`: the table size both ends start from (the SETTINGS default; RFC 7541's examples use 256).
   */
  constructor(
    private readonly cap = 64 * 1024,
    initialSize = DEFAULT_TABLE_SIZE,
  ) {
    this.maxSize = Math.min(initialSize, cap);
    this.allowed = this.maxSize;
  }

  get tableSize(): number {
    return this.size;
  }

  get tableEntries(): readonly HeaderField[] {
    return this.entries;
  }

  /** The decoding side announced SETTINGS_HEADER_TABLE_SIZE = n (kept as an upper bound until acknowledged). */
  allowSize(n: number): void {
    this.allowed = Math.max(this.allowed, n);
  }

  /** Decodes one complete header block (HEADERS + CONTINUATIONs, padding removed). Throws L7ParseError. */
  decode(block: Buffer, maxFields = 128): DecodedBlock {
    const fields: HeaderField[] = [];
    let dropped = 0;
    const r = { pos: 0 };
    const emit = (f: HeaderField) => {
      if (fields.length < maxFields) fields.push(f);
      else dropped++;
    };
    while (r.pos < block.length) {
      const b = block[r.pos]!;
      if (b & 0x80) {
        emit(this.lookup(readInt(block, r, 7)));
      } else if (b & 0x40) {
        const field = this.literal(block, r, 6);
        this.insert(field);
        emit(field);
      } else if (b & 0x20) {
        const n = readInt(block, r, 5);
        if (n > this.allowed || n > this.cap) throw new L7ParseError(`hpack: table size ${n} above the allowed ${this.allowed}`);
        this.maxSize = n;
        this.evict(0);
      } else {
        emit(this.literal(block, r, 4)); // without indexing (0000) or never indexed (0001)
      }
    }
    return { fields, dropped };
  }

  private lookup(index: number): HeaderField {
    if (index === 0) throw new L7ParseError('hpack: index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as HeaderField;
    const e = this.entries[index - STATIC_TABLE.length - 1];
    if (!e) throw new L7ParseError(`hpack: index ${index} beyond the table`);
    return e;
  }

  private literal(block: Buffer, r: { pos: number }, prefix: number): HeaderField {
    const index = readInt(block, r, prefix);
    const name = index === 0 ? readString(block, r) : this.lookup(index)[0];
    return [name, readString(block, r)];
  }

  private insert(field: HeaderField): void {
    const n = field[0].length + field[1].length + ENTRY_OVERHEAD;
    if (n > this.maxSize) {
      // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
      this.entries = [];
      this.sizes = [];
      this.size = 0;
      return;
    }
    this.evict(n);
    this.entries.unshift(field);
    this.sizes.unshift(n);
    this.size += n;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.entries.length > 0) {
      this.entries.pop();
      this.size -= this.sizes.pop()!;
    }
  }
}

/** RFC 7541 §5.1: an N-bit prefix integer. Bounded to 2^31 (nothing in HTTP/2 is larger). */
export function readInt(buf: Buffer, r: { pos: number }, prefix: number): number {
  if (r.pos >= buf.length) throw new L7ParseError('hpack: integer past the block');
  const max = (1 << prefix) - 1;
  let v = buf[r.pos++]! & max;
  if (v < max) return v;
  let shift = 0;
  for (;;) {
    if (r.pos >= buf.length) throw new L7ParseError('hpack: integer past the block');
    const b = buf[r.pos++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (v > 2 ** 31) throw new L7ParseError('hpack: integer too large');
    if ((b & 0x80) === 0) return v;
  }
}

/** RFC 7541 §5.2: a string literal, raw or Huffman-coded, as latin1 text. */
function readString(buf: Buffer, r: { pos: number }): string {
  if (r.pos >= buf.length) throw new L7ParseError('hpack: string past the block');
  const huffman = (buf[r.pos]! & 0x80) !== 0;
  const len = readInt(buf, r, 7);
  if (r.pos + len > buf.length) throw new L7ParseError('hpack: string past the block');
  const raw = buf.subarray(r.pos, r.pos + len);
  r.pos += len;
  return huffman ? huffmanDecode(raw) : raw.toString('latin1');
}
