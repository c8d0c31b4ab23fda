/**
 * DNS message parsing (RFC 1035) for the L7 engine: header, questions and the answer section of queries and
 * responses captured from syscalls, over UDP (one datagram = one message) or TCP (the engine strips the
 * 2-byte length prefix). Every read is bounds-checked; name compression pointers are followed with a jump
 * limit, so a malicious message yields an L7ParseError, never an exception of another kind. A message
 * cut short inside its answer section (TC, or a capture limited to its first bytes) keeps the whole answers.
 */
import { L7ParseError } from './errors';
import type { DnsDetails } from './types';

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  truncated: boolean;
  questions: { name: string; type: string }[];
  answers: { name: string; type: string; ttl: number; data: string }[];
}

const HEADER_BYTES = 12;
/** RFC 1035 §3.1: a name is at most 255 octets on the wire. */
const MAX_NAME_OCTETS = 255;
/** More jumps than a 255-octet name can legitimately need (each label ≥ 2 octets) means a loop. */
const MAX_POINTER_JUMPS = 128;
/** Sections larger than this are parsed only up to it (each record costs ≥ 11 bytes; 64 KiB / 11 < 6000). */
const MAX_RECORDS = 6000;

const TYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  41: 'OPT',
  64: 'SVCB',
  65: 'HTTPS',
  255: 'ANY',
};

export function dnsTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

/** The message ends early: malformed, or a capture cut short (which the answer section tolerates). */
class DnsEndOfMessage extends L7ParseError {}

function need(buf: Buffer, offset: number, bytes: number, what: string): void {
  if (offset + bytes > buf.length) {
    throw new DnsEndOfMessage(`DNS: ${what} at byte ${offset} runs past the end of the ${buf.length}-byte message`);
  }
}

/** Presentation form of one label: printable ASCII as is, '.' and '\' escaped, other octets as \DDD. */
function labelText(buf: Buffer, start: number, length: number): string {
  let out = '';
  for (let i = start; i < start + length; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\${c.toString().padStart(3, '0')}`;
  }
  return out;
}

/** Reads a (possibly compressed) name at offset; returns it with a trailing dot ("." for the root). */
function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1; // where parsing continues after the name: just past the first pointer or the root label
  let octets = 1;
  let jumps = 0;
  for (;;) {
    need(buf, pos, 1, 'name label');
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      need(buf, pos, 2, 'compression pointer');
      if (++jumps > MAX_POINTER_JUMPS) throw new L7ParseError(`DNS: compression pointer loop at byte ${pos}`);
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (kind !== 0) throw new L7ParseError(`DNS: unsupported label type 0x${kind.toString(16)} at byte ${pos}`);
    need(buf, pos + 1, len, 'label');
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) throw new L7ParseError(`DNS: name at byte ${offset} longer than 255 octets`);
    labels.push(labelText(buf, pos + 1, len));
    pos += len + 1;
  }
  return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`, next };
}

/** RFC 5952 text form of a 16-byte IPv6 address (longest run of ≥ 2 zero groups as "::"). */
export function formatIpv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

function rdataText(buf: Buffer, type: number, start: number, length: number): string {
  if (type === 1) {
    if (length !== 4) throw new L7ParseError(`DNS: A record with ${length}-byte data`);
    return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
  }
  if (type === 28) {
    if (length !== 16) throw new L7ParseError(`DNS: AAAA record with ${length}-byte data`);
    return formatIpv6(buf.subarray(start, start + 16));
  }
  if (type === 5 || type === 12 || type === 2) return readName(buf, start).name;
  return '';
}

/** Parses one DNS message (without the TCP length prefix). Throws L7ParseError on malformed input. */
export function parseDnsMessage(buf: Buffer): DnsMessage {
  need(buf, 0, HEADER_BYTES, 'header');
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const msg: DnsMessage = {
    id: buf.readUInt16BE(0),
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    truncated: (flags & 0x0200) !== 0,
    questions: [],
    answers: [],
  };
  let pos = HEADER_BYTES;
  for (let i = 0; i < Math.min(qdcount, MAX_RECORDS); i++) {
    const { name, next } = readName(buf, pos);
    need(buf, next, 4, 'question type/class');
    msg.questions.push({ name, type: dnsTypeName(buf.readUInt16BE(next)) });
    pos = next + 4;
  }
  // A response cut short (TC bit, or a capture limited to its first bytes) may end mid-answer: keep the
  // complete answers and stop there. The header and questions, though, must be whole.
  for (let i = 0; i < Math.min(ancount, MAX_RECORDS); i++) {
    try {
      const { name, next } = readName(buf, pos);
      need(buf, next, 10, 'resource record header');
      const type = buf.readUInt16BE(next);
      // RFC 2181 §8: a TTL is 31 bits; one with the top bit set is read as zero.
      const raw = buf.readUInt32BE(next + 4);
      const ttl = raw > 0x7fffffff ? 0 : raw;
      const rdlength = buf.readUInt16BE(next + 8);
      need(buf, next + 10, rdlength, 'resource record data');
      msg.answers.push({ name, type: dnsTypeName(type), ttl, data: rdataText(buf, type, next + 10, rdlength) });
      pos = next + 10 + rdlength;
    } catch (e) {
      if (e instanceof DnsEndOfMessage) break;
      throw e;
    }
  }
  return msg;
}

/**
 * A cheap test that bytes look like a standard DNS query header: QR clear, opcode QUERY/IQUERY/STATUS,
 * rcode 0, 1–4 questions, no answers or authority records, at most a few additional ones (EDNS OPT,
 * TSIG/COOKIE), and room for at least one minimal question.
 */
export function looksLikeDnsQuery(buf: Buffer): boolean {
  if (buf.length < HEADER_BYTES + 5) return false;
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) !== 0 || ((flags >> 11) & 0xf) > 2 || (flags & 0xf) !== 0) return false;
  const qdcount = buf.readUInt16BE(4);
  return qdcount >= 1 && qdcount <= 4 && buf.readUInt16BE(6) === 0 && buf.readUInt16BE(8) === 0 && buf.readUInt16BE(10) <= 4;
}

function withoutTrailingDot(name: string): string {
  return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The event details of a query and its response (if one was seen). */
export function dnsDetails(query: DnsMessage, response: DnsMessage | undefined, transport: 'udp' | 'tcp'): DnsDetails {
  const first = query.questions[0] ?? response?.questions[0];
  const details: DnsDetails = {
    query: withoutTrailingDot(first?.name ?? '').slice(0, 253),
    id: query.id,
    qtypes: query.questions.slice(0, 8).map((q) => q.type),
    transport,
  };
  if (!response) return details;
  const answers = response.answers;
  details.rcode = response.rcode;
  details.ips = answers
    .filter((a) => a.type === 'A' || a.type === 'AAAA')
    .slice(0, 64)
    .map((a) => a.data);
  details.cnames = answers
    .filter((a) => a.type === 'CNAME')
    .slice(0, 16)
    .map((a) => withoutTrailingDot(a.data).slice(0, 253));
  details.rrtypes = answers.slice(0, 64).map((a) => a.type);
  if (answers.length > 0) details.ttl = Math.min(...answers.map((a) => a.ttl));
  return details;
}
