/**
 * Kafka wire-protocol parsing for the L7 engine: request headers (v0/v1/v2), the topics of Produce, Fetch and
 * Metadata requests, and the correlation id, topics and first error code of their responses (plus
 * ApiVersions and the consumer-group APIs' top-level error). Captures are truncated at a few KiB, so every
 * function accepts a prefix of a frame: a frame that ends early yields what was read up to that point;
 * bytes that cannot be Kafka (bad lengths, unknown api keys) throw L7ParseError — nothing else escapes.
 */
import { L7ParseError } from './errors';
import { API_KEYS, isFlexible, isKnownApiKey, kafkaApiName, requestHeaderVersion, responseHeaderVersion } from './kafka-apis';
import type { KafkaDetails } from './types';

export interface KafkaRequest {
  apiKey: number;
  apiKeyName: string;
  apiVersion: number;
  correlationId: number;
  clientId?: string;
  topics: string[];
}

export interface KafkaResponse {
  correlationId: number;
  errorCode: number;
  topics: string[];
  /** The topic the (per-topic or per-partition) error code belongs to, when it is not top-level. */
  errorTopic?: string;
}

/** Versions above this are not in any Kafka release (Fetch, the highest, is at 17): likely not Kafka. */
const MAX_API_VERSION = 30;
/** Largest request a broker accepts by default is 100 MiB (socket.request.max.bytes). */
const MAX_FRAME_BYTES = 100 * 1024 * 1024;
/** Topics kept per message: enough for events, bounded for memory. */
const MAX_TOPICS = 64;

/** Thrown internally when the captured prefix ends; turned into a partial result, never escapes. */
const END_OF_CAPTURE = Symbol('end of capture');

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    readonly flexible: boolean,
  ) {}

  private need(bytes: number): void {
    if (this.pos + bytes > this.buf.length) throw END_OF_CAPTURE;
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  skip(bytes: number): void {
    this.need(bytes);
    this.pos += bytes;
  }
  uuid(): string {
    this.need(16);
    const s = this.buf.toString('base64url', this.pos, this.pos + 16); // Kafka's Uuid.toString() form
    this.pos += 16;
    return s;
  }
  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new L7ParseError(`Kafka: unsigned varint longer than 5 bytes at byte ${this.pos}`);
  }
  /** A length: compact (varint N+1, 0 = null) when flexible, else int16/int32 with -1 = null. */
  private length(classicBytes: 2 | 4, what: string): number {
    const n = this.flexible ? this.unsignedVarint() - 1 : classicBytes === 2 ? this.int16() : this.int32();
    if (n < -1) throw new L7ParseError(`Kafka: negative ${what} length ${n} at byte ${this.pos}`);
    return n;
  }
  /** A (nullable) string; null as undefined. */
  string(): string | undefined {
    const n = this.length(2, 'string');
    if (n < 0) return undefined;
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** The header's client id: always a classic int16-length nullable string, even in header v2. */
  classicString(): string | undefined {
    const n = this.int16();
    if (n < -1) throw new L7ParseError(`Kafka: negative client id length ${n}`);
    if (n < 0) return undefined;
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** Skips (nullable) bytes such as a record set. */
  bytes(): void {
    const n = this.length(4, 'bytes');
    if (n > 0) this.skip(n);
  }
  /** An array's element count; -1 for null. */
  arrayLength(): number {
    return this.length(4, 'array');
  }
  /** Reads each element of an array with fn (which must consume at least one byte). */
  array(fn: () => void): void {
    const n = this.arrayLength();
    for (let i = 0; i < n; i++) fn();
  }
  taggedFields(): void {
    if (!this.flexible) return;
    const count = this.unsignedVarint();
    for (let i = 0; i < count; i++) {
      this.unsignedVarint(); // tag
      this.skip(this.unsignedVarint());
    }
  }
}

/** Runs a body parser; the capture ending early stops it quietly, any other problem is an L7ParseError. */
function readUntilEnd(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e === END_OF_CAPTURE) return;
    if (e instanceof L7ParseError) throw e;
    throw new L7ParseError(`Kafka: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function addTopic(topics: string[], topic: string | undefined): void {
  if (topic !== undefined && topics.length < MAX_TOPICS) topics.push(topic);
}

/** A cheap test of the first bytes of a stream: a plausible size prefix and a known api key and version. */
export function looksLikeKafkaRequest(frameWithSizePrefix: Buffer): boolean {
  const b = frameWithSizePrefix;
  if (b.length < 12) return false;
  const size = b.readInt32BE(0);
  if (size < 8 || size > MAX_FRAME_BYTES) return false;
  const apiKey = b.readInt16BE(4);
  const apiVersion = b.readInt16BE(6);
  if (!isKnownApiKey(apiKey) || apiVersion < 0 || apiVersion > MAX_API_VERSION || b.readInt32BE(8) < 0) return false;
  if (requestHeaderVersion(apiKey, apiVersion) === 0) return true;
  if (b.length < 14) return size >= 10;
  const clientIdLength = b.readInt16BE(12);
  if (clientIdLength < -1 || 10 + Math.max(0, clientIdLength) > size) return false;
  const clientIdEnd = 14 + Math.max(0, clientIdLength);
  for (let i = 14; i < Math.min(clientIdEnd, b.length); i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return false;
  // A classic Produce: its acks (after the transactional id from v3) can only be -1, 0 or 1. This also keeps
  // a DNS-over-TCP query without RD (flags 0 read as Produce v1) from passing for Kafka.
  if (apiKey === API_KEYS.Produce && !isFlexible(apiKey, apiVersion)) {
    let pos = clientIdEnd;
    if (apiVersion >= 3) {
      if (b.length < pos + 2) return true;
      pos += 2 + Math.max(0, b.readInt16BE(pos));
    }
    if (b.length >= pos + 2) {
      const acks = b.readInt16BE(pos);
      if (acks < -1 || acks > 1) return false;
    }
  }
  return true;
}

/** Parses a request frame (the bytes after the 4-byte size), or a captured prefix of one. */
export function parseKafkaRequest(frame: Buffer): KafkaRequest {
  if (frame.length < 8) throw new L7ParseError(`Kafka: ${frame.length}-byte request is shorter than a header`);
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  if (!isKnownApiKey(apiKey)) throw new L7ParseError(`Kafka: unknown api key ${apiKey}`);
  if (apiVersion < 0 || apiVersion > MAX_API_VERSION) throw new L7ParseError(`Kafka: implausible api version ${apiVersion}`);
  const req: KafkaRequest = { apiKey, apiKeyName: kafkaApiName(apiKey), apiVersion, correlationId: frame.readInt32BE(4), topics: [] };
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const r = new Reader(frame, isFlexible(apiKey, apiVersion));
  r.pos = 8;
  readUntilEnd(() => {
    if (headerVersion >= 1) {
      const clientId = r.classicString();
      if (clientId !== undefined) req.clientId = clientId;
    }
    if (headerVersion === 2) r.taggedFields();
    if (apiKey === API_KEYS.Produce) readProduceRequest(r, apiVersion, req.topics);
    else if (apiKey === API_KEYS.Fetch) readFetchRequest(r, apiVersion, req.topics);
    else if (apiKey === API_KEYS.Metadata) readMetadataRequest(r, apiVersion, req.topics);
  });
  return req;
}

function readProduceRequest(r: Reader, v: number, topics: string[]): void {
  if (v >= 3) r.string(); // transactional id
  r.skip(2 + 4); // acks, timeout
  r.array(() => {
    addTopic(topics, v >= 13 ? r.uuid() : r.string());
    r.array(() => {
      r.skip(4); // partition index
      r.bytes(); // records
      r.taggedFields();
    });
    r.taggedFields();
  });
}

function readFetchRequest(r: Reader, v: number, topics: string[]): void {
  if (v <= 14) r.skip(4); // replica id (a tagged field from v15)
  r.skip(4 + 4); // max wait, min bytes
  if (v >= 3) r.skip(4); // max bytes
  if (v >= 4) r.skip(1); // isolation level
  if (v >= 7) r.skip(4 + 4); // session id, session epoch
  r.array(() => {
    addTopic(topics, v >= 13 ? r.uuid() : r.string());
    r.array(() => {
      r.skip(4); // partition
      if (v >= 9) r.skip(4); // current leader epoch
      r.skip(8); // fetch offset
      if (v >= 12) r.skip(4); // last fetched epoch
      if (v >= 5) r.skip(8); // log start offset
      r.skip(4); // partition max bytes
      r.taggedFields();
    });
    r.taggedFields();
  });
}

function readMetadataRequest(r: Reader, v: number, topics: string[]): void {
  r.array(() => {
    const id = v >= 10 ? r.uuid() : undefined;
    const name = r.string();
    addTopic(topics, name ?? id);
    r.taggedFields();
  });
}

/** Parses a response frame (after the size) to the request it answers; a captured prefix gives what it holds. */
export function parseKafkaResponse(frame: Buffer, req: KafkaRequest): KafkaResponse {
  if (frame.length < 4) throw new L7ParseError(`Kafka: ${frame.length}-byte response is shorter than a header`);
  const res: KafkaResponse = { correlationId: frame.readInt32BE(0), errorCode: 0, topics: [] };
  const v = req.apiVersion;
  const r = new Reader(frame, isFlexible(req.apiKey, v));
  r.pos = 4;
  const noteError = (code: number, topic?: string) => {
    if (res.errorCode !== 0 || code === 0) return;
    res.errorCode = code;
    if (topic !== undefined) res.errorTopic = topic;
  };
  readUntilEnd(() => {
    if (responseHeaderVersion(req.apiKey, v) === 1) r.taggedFields();
    switch (req.apiKey) {
      case API_KEYS.Produce:
        return readProduceResponse(r, v, res.topics, noteError);
      case API_KEYS.Fetch:
        return readFetchResponse(r, v, res.topics, noteError);
      case API_KEYS.Metadata:
        return readMetadataResponse(r, v, res.topics, noteError);
      case API_KEYS.ApiVersions:
        return noteError(r.int16());
      default: {
        const throttleFrom = TOP_LEVEL_ERROR_APIS.get(req.apiKey);
        if (throttleFrom === undefined || (req.apiKey === API_KEYS.FindCoordinator && v >= 4)) return;
        if (v >= throttleFrom) r.skip(4); // throttle time
        noteError(r.int16());
      }
    }
  });
  return res;
}

/** APIs whose response starts with [throttle time (from this version)] and a top-level error code. */
const TOP_LEVEL_ERROR_APIS = new Map<number, number>([
  [API_KEYS.FindCoordinator, 1],
  [API_KEYS.JoinGroup, 2],
  [API_KEYS.Heartbeat, 1],
  [API_KEYS.LeaveGroup, 1],
  [API_KEYS.SyncGroup, 1],
]);

/** Whether parseKafkaResponse reads an error code for this api key (else its 0 means "not looked at"). */
export function hasParsedErrorCode(apiKey: number, apiVersion: number): boolean {
  if (apiKey === API_KEYS.FindCoordinator) return apiVersion < 4;
  return (
    [API_KEYS.Produce, API_KEYS.Fetch, API_KEYS.Metadata, API_KEYS.ApiVersions].includes(apiKey as 0) || TOP_LEVEL_ERROR_APIS.has(apiKey)
  );
}

type ErrorSink = (code: number, topic?: string) => void;

function readProduceResponse(r: Reader, v: number, topics: string[], noteError: ErrorSink): void {
  r.array(() => {
    const topic = v >= 13 ? r.uuid() : r.string();
    addTopic(topics, topic);
    r.array(() => {
      r.skip(4); // partition index
      noteError(r.int16(), topic);
      r.skip(8); // base offset
      if (v >= 2) r.skip(8); // log append time
      if (v >= 5) r.skip(8); // log start offset
      if (v >= 8) {
        r.array(() => {
          r.skip(4); // batch index
          r.string(); // batch index error message
          r.taggedFields();
        });
        r.string(); // error message
      }
      r.taggedFields();
    });
    r.taggedFields();
  });
}

function readFetchResponse(r: Reader, v: number, topics: string[], noteError: ErrorSink): void {
  if (v >= 1) r.skip(4); // throttle time
  if (v >= 7) {
    noteError(r.int16());
    r.skip(4); // session id
  }
  r.array(() => {
    const topic = v >= 13 ? r.uuid() : r.string();
    addTopic(topics, topic);
    r.array(() => {
      r.skip(4); // partition index
      noteError(r.int16(), topic);
      r.skip(8); // high watermark
      if (v >= 4) r.skip(8); // last stable offset
      if (v >= 5) r.skip(8); // log start offset
      if (v >= 4) {
        r.array(() => {
          r.skip(8 + 8); // producer id, first offset
          r.taggedFields();
        });
      }
      if (v >= 11) r.skip(4); // preferred read replica
      r.bytes(); // records
      r.taggedFields();
    });
    r.taggedFields();
  });
}

function readMetadataResponse(r: Reader, v: number, topics: string[], noteError: ErrorSink): void {
  if (v >= 3) r.skip(4); // throttle time
  r.array(() => {
    r.skip(4); // node id
    r.string(); // host
    r.skip(4); // port
    if (v >= 1) r.string(); // rack
    r.taggedFields();
  });
  if (v >= 2) r.string(); // cluster id
  if (v >= 1) r.skip(4); // controller id
  r.array(() => {
    const error = r.int16();
    const name = r.string();
    const id = v >= 10 ? r.uuid() : undefined;
    addTopic(topics, name ?? id);
    noteError(error, name ?? id);
    if (v >= 1) r.skip(1); // is internal
    r.array(() => {
      r.skip(2 + 4 + 4); // error code, partition index, leader id
      if (v >= 7) r.skip(4); // leader epoch
      r.skip(4 * Math.max(0, r.arrayLength())); // replica nodes
      r.skip(4 * Math.max(0, r.arrayLength())); // isr nodes
      if (v >= 5) r.skip(4 * Math.max(0, r.arrayLength())); // offline replicas
      r.taggedFields();
    });
    if (v >= 8) r.skip(4); // topic authorized operations
    r.taggedFields();
  });
  if (v >= 8 && v <= 10) r.skip(4); // cluster authorized operations
  if (v >= 13) noteError(r.int16()); // top-level error code
}

/** The event details of a request and its response (if one was seen). */
export function kafkaDetails(req: KafkaRequest, res: KafkaResponse | undefined): KafkaDetails {
  const details: KafkaDetails = { apiKey: req.apiKeyName, apiVersion: req.apiVersion, correlationId: req.correlationId };
  if (req.clientId !== undefined) details.clientId = req.clientId.slice(0, 256);
  // A Metadata request without topics asks for all of them: no single topic to name. Otherwise the response's
  // topic stands in when the request's capture ended before its topics.
  // The topic an error belongs to names the event when there is one.
  const topic = res?.errorTopic ?? req.topics[0] ?? (req.apiKey === API_KEYS.Metadata ? undefined : res?.topics[0]);
  if (topic !== undefined) details.topic = topic.slice(0, 249);
  if (res && hasParsedErrorCode(req.apiKey, req.apiVersion) && res.errorCode >= -1) details.errorCode = res.errorCode;
  return details;
}
