import { describe, expect, it } from 'vitest';
import { L7ParseError } from './errors';
import { kafkaDetails, looksLikeKafkaRequest, parseKafkaRequest, parseKafkaResponse } from './kafka';
import { kafkaApiName, requestHeaderVersion, responseHeaderVersion } from './kafka-apis';

/** A tiny encoder for hand-built frames: classic or compact (flexible) lengths. */
class Frame {
  private parts: Buffer[] = [];
  constructor(private readonly flex: boolean) {}
  raw(...bytes: number[]) {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  i16(v: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  i64(v: number) {
    return this.i32(0).i32(v);
  }
  len(n: number, classic: 2 | 4) {
    if (this.flex) return this.raw(n + 1); // all test lengths < 127: one varint byte
    return classic === 2 ? this.i16(n) : this.i32(n);
  }
  str(s: string | null) {
    if (s === null) return this.len(-1, 2);
    this.len(Buffer.byteLength(s), 2);
    this.parts.push(Buffer.from(s));
    return this;
  }
  /** The header's client id is a classic string even in flexible requests. */
  clientId(s: string) {
    this.i16(s.length);
    this.parts.push(Buffer.from(s));
    return this;
  }
  uuid(fill: number) {
    this.parts.push(Buffer.alloc(16, fill));
    return this;
  }
  tags() {
    return this.flex ? this.raw(0) : this;
  }
  done() {
    return Buffer.concat(this.parts);
  }
}

function header(apiKey: number, version: number, correlationId: number, flex: boolean) {
  const f = new Frame(flex).i16(apiKey).i16(version).i32(correlationId).clientId('cli');
  return flex ? f.raw(0) : f;
}

describe('parseKafkaRequest / parseKafkaResponse on hand-built frames', () => {
  it('reads a flexible Metadata v12 request and response (compact strings, tagged fields, topic ids)', () => {
    const req = header(3, 12, 7, true).len(2, 4).uuid(0).str('orders').tags().uuid(0).str(null).tags().raw(1, 0).tags().done();
    const parsed = parseKafkaRequest(req);
    expect(parsed).toEqual({
      apiKey: 3,
      apiKeyName: 'Metadata',
      apiVersion: 12,
      correlationId: 7,
      clientId: 'cli',
      topics: ['orders', 'AAAAAAAAAAAAAAAAAAAAAA'],
    });
    const res = new Frame(true).i32(7).tags().i32(0); // correlation id, header tags, throttle
    res.len(1, 4).i32(1).str('127.0.0.1').i32(9092).str(null).tags(); // brokers
    res.str('cluster').i32(1); // cluster id, controller
    res
      .len(2, 4)
      .i16(0)
      .str('orders')
      .uuid(1)
      .raw(0)
      .len(1, 4)
      .i16(0)
      .i32(0)
      .i32(1)
      .i32(0)
      .len(1, 4)
      .i32(1)
      .len(1, 4)
      .i32(1)
      .len(0, 4)
      .tags()
      .i32(0)
      .tags();
    res.i16(3).str('missing').uuid(0).raw(0).len(0, 4).i32(0).tags().tags();
    const parsedRes = parseKafkaResponse(res.done(), parsed);
    expect(parsedRes).toEqual({ correlationId: 7, errorCode: 3, errorTopic: 'missing', topics: ['orders', 'missing'] });
    expect(kafkaDetails(parsed, parsedRes)).toEqual({
      apiKey: 'Metadata',
      apiVersion: 12,
      correlationId: 7,
      clientId: 'cli',
      topic: 'missing',
      errorCode: 3,
    });
  });

  it('reads Fetch v13 topic ids and Produce v9 (flexible) topics, and v0 Produce responses', () => {
    const fetch = header(1, 13, 9, true)
      .i32(-1)
      .i32(500)
      .i32(1)
      .i32(1 << 20)
      .raw(0)
      .i32(0)
      .i32(-1);
    fetch
      .len(1, 4)
      .uuid(0xab)
      .len(1, 4)
      .i32(0)
      .i32(0)
      .i64(5)
      .i32(-1)
      .i64(0)
      .i32(1 << 20)
      .tags()
      .tags();
    const req = parseKafkaRequest(fetch.done());
    expect(req.topics).toEqual([Buffer.alloc(16, 0xab).toString('base64url')]);
    const fetchRes = new Frame(true).i32(9).tags().i32(0).i16(0).i32(0).len(1, 4).uuid(0xab).len(1, 4).i32(0).i16(1).done();
    expect(parseKafkaResponse(fetchRes, req)).toEqual({
      correlationId: 9,
      errorCode: 1,
      errorTopic: req.topics[0],
      topics: [req.topics[0]],
    }); // ends mid-partition: a prefix
    const produce = header(0, 9, 11, true)
      .str(null)
      .i16(-1)
      .i32(30000)
      .len(1, 4)
      .str('events')
      .len(1, 4)
      .i32(0)
      .len(3, 4)
      .raw(1, 2, 3)
      .tags()
      .tags()
      .done();
    expect(parseKafkaRequest(produce)).toMatchObject({ apiKeyName: 'Produce', topics: ['events'], correlationId: 11 });
    const v0 = parseKafkaRequest(header(0, 2, 1, false).i16(1).i32(1000).len(1, 4).str('legacy').len(1, 4).i32(0).len(0, 4).done());
    const v0Res = new Frame(false)
      .i32(1)
      .len(1, 4)
      .str('legacy')
      .len(2, 4)
      .i32(0)
      .i16(0)
      .i64(0)
      .i64(-1)
      .i32(1)
      .i16(6)
      .i64(-1)
      .i64(-1)
      .i32(0)
      .done();
    expect(parseKafkaResponse(v0Res, v0)).toEqual({ correlationId: 1, errorCode: 6, errorTopic: 'legacy', topics: ['legacy'] });
  });

  it('returns what a truncated capture holds and rejects impossible bytes with L7ParseError', () => {
    const full = header(0, 7, 3, false)
      .str(null)
      .i16(1)
      .i32(1000)
      .len(2, 4)
      .str('first')
      .len(1, 4)
      .i32(0)
      .len(100, 4)
      .raw(...Array(100).fill(0))
      .str('second')
      .done();
    const prefix = full.subarray(0, 60); // the capture ends inside the first topic's records
    expect(parseKafkaRequest(prefix)).toMatchObject({
      apiKeyName: 'Produce',
      apiVersion: 7,
      correlationId: 3,
      clientId: 'cli',
      topics: ['first'],
    });
    expect(parseKafkaRequest(full.subarray(0, 8))).toEqual({
      apiKey: 0,
      apiKeyName: 'Produce',
      apiVersion: 7,
      correlationId: 3,
      topics: [],
    });
    expect(() => parseKafkaRequest(full.subarray(0, 7))).toThrow(L7ParseError);
    expect(() => parseKafkaRequest(header(500, 1, 1, false).done())).toThrow(/unknown api key 500/);
    expect(() => parseKafkaRequest(header(3, 1, 1, false).i32(-7).done())).toThrow(/negative array length/);
    expect(() => parseKafkaResponse(Buffer.alloc(3), parseKafkaRequest(prefix))).toThrow(L7ParseError);
    const size = Buffer.alloc(4);
    size.writeInt32BE(full.length);
    expect(looksLikeKafkaRequest(Buffer.concat([size, full]))).toBe(true);
    expect(looksLikeKafkaRequest(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe(false);
    expect(looksLikeKafkaRequest(Buffer.concat([size, full.subarray(0, 4)]))).toBe(false);
    // DNS over TCP, a query without RD: length 29, id 0x1234, flags 0, 1 question — reads as "Produce v1".
    const dnsTcp = Buffer.from('001d123400000001000000000000076578616d706c6503636f6d0000010001', 'hex');
    expect(looksLikeKafkaRequest(dnsTcp)).toBe(false);
    const withBadClientId = Buffer.from(full);
    withBadClientId[10] = 0x01; // a control byte in the client id
    expect(looksLikeKafkaRequest(Buffer.concat([size, withBadClientId]))).toBe(false);
  });

  it('picks header versions and names by api key', () => {
    expect([
      kafkaApiName(0),
      kafkaApiName(1),
      kafkaApiName(2),
      kafkaApiName(3),
      kafkaApiName(18),
      kafkaApiName(75),
      kafkaApiName(999),
    ]).toEqual(['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'ApiVersions', 'DescribeTopicPartitions', 'ApiKey999']);
    expect([requestHeaderVersion(3, 8), requestHeaderVersion(3, 9), requestHeaderVersion(7, 0), requestHeaderVersion(17, 1)]).toEqual([
      1, 2, 0, 1,
    ]);
    expect([responseHeaderVersion(18, 3), responseHeaderVersion(1, 12), responseHeaderVersion(1, 11)]).toEqual([0, 1, 0]);
  });
});
