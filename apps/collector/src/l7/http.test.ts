import { describe, expect, it } from 'vitest';
import { L7Engine } from './engine';
import type { L7Chunk, L7Exchange } from './types';

const CONN = 7n;
const MS = 1_000_000n;

function chunk(direction: 'egress' | 'ingress', data: string | Buffer, tsMs: number, totalLength?: number, connId = CONN): L7Chunk {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return { connId, transport: 'tcp', direction, timestampNs: BigInt(tsMs) * MS, data: buf, totalLength: totalLength ?? buf.length };
}

function run(engine: L7Engine, chunks: L7Chunk[], close = true): L7Exchange[] {
  const out = chunks.flatMap((c) => engine.push(c));
  if (close) out.push(...engine.closeConnection(chunks[0]!.connId));
  return out;
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: api.test\r\n${extra}\r\n`;
const ok = (body: string, code = 200, extra = '') => `HTTP/1.1 ${code} X\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
const chunked = (parts: string[]) =>
  `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${parts.map((p) => `${p.length.toString(16)};ext=1;q="a b"\r\n${p}\r\n`).join('')}0\r\nX-Trailer: t\r\n\r\n`;

describe('HTTP/1.x through the engine', () => {
  it('pairs a request with its response: method, url, template, host, code, sizes, latency, redaction', () => {
    const engine = new L7Engine({ keepHeaders: ['authorization', 'content-type', 'set-cookie'] });
    const req = `GET /users/42/orders?token=abc&page=2 HTTP/1.1\r\nHost: api.test\r\nAuthorization: Bearer s3cret\r\nX-Other: 1\r\n\r\n`;
    const res = 'HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nSet-Cookie: sid=1\r\nContent-Length: 5\r\n\r\nnope!';
    const [ex, ...rest] = run(engine, [chunk('egress', req, 10), chunk('ingress', res, 13)]);
    expect(rest).toEqual([]);
    expect(ex).toEqual({
      connId: CONN,
      protocol: 'http',
      role: 'client',
      requestTimeNs: 10n * MS,
      responseTimeNs: 13n * MS,
      latencyNs: 3n * MS,
      http: {
        method: 'GET',
        url: '/users/42/orders?token=REDACTED&page=2',
        path: '/users/42/orders',
        pathTemplate: '/users/{id}/orders',
        host: 'api.test',
        protocol: 'HTTP/1.1',
        code: 404,
        requestBytes: req.length,
        responseBytes: res.length,
        headers: [
          { key: 'authorization', value: 'REDACTED' },
          { key: 'content-type', value: 'text/plain' },
          { key: 'set-cookie', value: 'REDACTED' },
        ],
      },
    });
    const s = engine.stats();
    expect(s).toMatchObject({
      parsedBytes: req.length + res.length,
      unparsedBytes: 0,
      exchanges: 1,
      unanswered: 0,
      byProtocol: { http: 1, dns: 0, kafka: 0 },
    });
  });

  it('takes the server role when requests arrive (ingress)', () => {
    const [ex] = run(new L7Engine(), [chunk('ingress', get('/a'), 1), chunk('egress', ok('hi'), 2)]);
    expect(ex).toMatchObject({ role: 'server', latencyNs: MS, http: { path: '/a', code: 200 } });
  });

  const paths = Array.from({ length: 10 }, (_, i) => `/p/${i}`);
  const responses = paths.map((p, i) =>
    i % 3 === 0 ? chunked([p, 'xyz'.repeat(i + 1)]) : i % 3 === 1 ? ok(p.repeat(i), 210 + i) : 'HTTP/1.1 204 No Content\r\n\r\n',
  );
  const responseBytes = Buffer.from(responses.join(''), 'latin1');
  const codes = paths.map((_, i) => (i % 3 === 0 ? 200 : i % 3 === 1 ? 210 + i : 204));

  it('pairs 10 pipelined requests written at once with responses split at every byte offset', () => {
    for (let cut = 0; cut <= responseBytes.length; cut++) {
      const engine = new L7Engine();
      const chunks = [chunk('egress', paths.map((p) => get(p)).join(''), 1)];
      if (cut > 0) chunks.push(chunk('ingress', responseBytes.subarray(0, cut), 2));
      if (cut < responseBytes.length) chunks.push(chunk('ingress', responseBytes.subarray(cut), 3));
      const out = run(engine, chunks);
      expect(
        out.map((e) => e.http?.path),
        `cut ${cut}`,
      ).toEqual(paths);
      expect(
        out.map((e) => e.http?.code),
        `cut ${cut}`,
      ).toEqual(codes);
      expect(out.map((e) => e.http?.responseBytes)).toEqual(responses.map((r) => r.length));
      expect(engine.stats()).toMatchObject({ unanswered: 0, unparsedBytes: 0, orphanResponses: 0 });
      // Each response starts in the chunk holding its first byte.
      let offset = 0;
      for (const [i, r] of responses.entries()) {
        expect(out[i]!.responseTimeNs, `cut ${cut} #${i}`).toBe((cut > offset ? 2n : 3n) * MS);
        offset += r.length;
      }
    }
  });

  it('parses requests split at every byte offset, bodies included', () => {
    const body = '{"a":1}';
    const reqs =
      `POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      `PUT /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n` +
      get('/z');
    for (let cut = 1; cut < reqs.length; cut++) {
      const out = run(new L7Engine(), [
        chunk('egress', reqs.slice(0, cut), 1),
        chunk('egress', reqs.slice(cut), 2),
        chunk('ingress', ok('1') + ok('2') + ok('3'), 5),
      ]);
      expect(
        out.map((e) => `${e.http?.method} ${e.http?.path} ${e.http?.requestBytes}`),
        `cut ${cut}`,
      ).toEqual([`POST /x ${reqs.indexOf('PUT')}`, `PUT /y ${reqs.indexOf('GET') - reqs.indexOf('PUT')}`, `GET /z ${get('/z').length}`]);
    }
  });

  it('skips chunked bodies with extensions and trailers', () => {
    const res = chunked(['hello', 'world!', 'x'.repeat(300)]);
    const out = run(new L7Engine(), [chunk('egress', get('/c') + get('/d'), 1), chunk('ingress', res + ok('done'), 2)]);
    expect(out.map((e) => [e.http?.path, e.http?.code, e.http?.responseBytes])).toEqual([
      ['/c', 200, res.length],
      ['/d', 200, ok('done').length],
    ]);
  });

  it('skips a gap that lands inside a body and stays in sync', () => {
    const engine = new L7Engine();
    const bigBody = 10_000;
    const head = `POST /upload HTTP/1.1\r\nContent-Length: ${bigBody}\r\n\r\n`;
    const bigHead = 'HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n';
    // The write moved head + body, the capture kept the head and 100 body bytes.
    const out = run(engine, [
      chunk('egress', head + 'b'.repeat(100), 1, head.length + bigBody),
      chunk('egress', get('/after'), 2),
      chunk('ingress', bigHead + 'r'.repeat(10), 3, bigHead.length + 50_000),
      chunk('ingress', ok('fine'), 4),
    ]);
    expect(out.map((e) => [e.http?.path, e.http?.code, e.http?.requestBytes, e.http?.responseBytes])).toEqual([
      ['/upload', 200, head.length + bigBody, bigHead.length + 50_000],
      ['/after', 200, get('/after').length, ok('fine').length],
    ]);
    expect(engine.stats().unparsedBytes).toBe(0);
  });

  it('ends a chunked body whose last chunk fell in the gap, and loses sync when more than that is missing', () => {
    const engine = new L7Engine();
    const res = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'d'.repeat(1024)}\r\n0\r\n\r\n`;
    const out = run(engine, [
      chunk('egress', get('/a') + get('/b'), 1),
      chunk('ingress', res.slice(0, 100), 2, res.length), // "…\r\n0\r\n\r\n" not captured
      chunk('ingress', res.slice(0, 100), 3, res.length + 7), // 7 more bytes than the last chunk: unknown
    ]);
    expect(out.map((e) => [e.http?.path, e.http?.code, e.http?.responseBytes])).toEqual([
      ['/a', 200, res.length],
      ['/b', 200, undefined],
    ]);
    expect(engine.stats().unparsedBytes).toBe(12);
  });

  it('loses sync on a gap inside headers, counts the bytes unparsed and resynchronises on the next request line', () => {
    const engine = new L7Engine();
    const first = get('/one') + 'GET /two HTTP/1.1\r\nHo'; // the rest of /two's head was not captured
    const out = run(engine, [
      chunk('egress', first, 1, first.length + 20),
      chunk('ingress', ok('1'), 2),
      chunk('ingress', ok('2'), 3), // answers the lost /two: no known request was sent before it
      chunk('egress', 'garbage that is not a request line', 4),
      chunk('egress', get('/three'), 5),
      chunk('ingress', ok('3'), 6),
    ]);
    expect(out.map((e) => [e.http?.path, e.http?.code, e.latencyNs])).toEqual([
      ['/one', 200, MS],
      ['/three', 200, MS],
    ]);
    const s = engine.stats();
    expect(s.unparsedBytes).toBe('GET /two HTTP/1.1\r\nHo'.length + 20 + 'garbage that is not a request line'.length);
    expect(s.orphanResponses).toBe(1);
    expect(s.parsedBytes + s.unparsedBytes).toBe(first.length + 20 + 34 + get('/three').length + 3 * ok('1').length);
  });

  it('ends an HTTP/1.0 close-delimited body at close', () => {
    const req = 'GET /old HTTP/1.0\r\n\r\n';
    const res = 'HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>';
    const engine = new L7Engine();
    expect(run(engine, [chunk('egress', req, 1), chunk('ingress', res, 2), chunk('ingress', 'more</html>', 3)], false)).toEqual([]);
    const [ex] = engine.closeConnection(CONN);
    expect(ex).toMatchObject({ http: { protocol: 'HTTP/1.0', code: 200, responseBytes: res.length + 11 }, latencyNs: MS });
  });

  it('knows HEAD, 1xx, 204 and 304 have no body', () => {
    const out = run(new L7Engine(), [
      chunk(
        'egress',
        'HEAD /h HTTP/1.1\r\n\r\n' + get('/n') + get('/m') + 'POST /c HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nab',
        1,
      ),
      chunk(
        'ingress',
        'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n' +
          'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n' +
          'HTTP/1.1 204 No Content\r\n\r\n' +
          'HTTP/1.1 100 Continue\r\n\r\n' +
          ok('created', 201),
        2,
      ),
    ]);
    expect(out.map((e) => [e.http?.method, e.http?.code])).toEqual([
      ['HEAD', 200],
      ['GET', 304],
      ['GET', 204],
      ['POST', 201],
    ]);
  });

  it('flushes unanswered requests at close and counts them', () => {
    const engine = new L7Engine();
    const out = run(engine, [chunk('egress', get('/a') + get('/b'), 1), chunk('ingress', ok(''), 2)]);
    expect(out.map((e) => [e.http?.path, e.http?.code, e.responseTimeNs])).toEqual([
      ['/a', 200, 2n * MS],
      ['/b', undefined, undefined],
    ]);
    expect(engine.stats()).toMatchObject({ exchanges: 2, unanswered: 1 });
  });

  it('stops parsing after 101 Switching Protocols and counts the tunnel unparsed', () => {
    const engine = new L7Engine();
    const out = run(engine, [
      chunk('egress', get('/ws', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'), 1),
      chunk('ingress', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello', 2),
      chunk('egress', 'GET / HTTP/1.1\r\n\r\n', 3),
    ]);
    expect(out.map((e) => e.http?.code)).toEqual([101]);
    expect(engine.stats().unparsedBytes).toBe(7 + 18);
  });

  it('detects HTTP on a connection first seen in the middle of a long body', () => {
    const engine = new L7Engine();
    for (let i = 0; i < 100; i++) engine.push(chunk('ingress', 'x'.repeat(64), i, 65_536)); // the rest of a download
    const out = run(engine, [chunk('egress', get('/next'), 200), chunk('ingress', ok('fine'), 201)]);
    expect(out.map((e) => [e.http?.path, e.http?.code])).toEqual([['/next', 200]]);
    expect(engine.stats().unparsedBytes).toBe(100 * 65_536);
  });

  it('counts unknown protocols unparsed, cheaply, and bounds connections and pending requests', () => {
    const engine = new L7Engine({ maxConnections: 2, maxPendingPerConnection: 3 });
    for (let i = 0; i < 40; i++) engine.push(chunk('egress', 'SSH-2.0-OpenSSH\r\n', i, 100, 1n));
    expect(engine.connectionStats(1n)).toEqual({ parsedBytes: 0, unparsedBytes: 4000 });
    engine.push(chunk('egress', get('/1') + get('/2') + get('/3') + get('/4') + get('/5'), 1, undefined, 2n));
    expect(engine.stats().unanswered).toBe(2); // the two oldest were dropped
    const evicted = engine.push(chunk('egress', get('/x'), 2, undefined, 3n)); // evicts connection 1 (LRU)
    expect(evicted).toEqual([]);
    const flushed = engine.push(chunk('egress', get('/y'), 3, undefined, 4n)); // evicts connection 2: its 3 requests flushed
    expect(flushed.map((e) => e.http?.path)).toEqual(['/3', '/4', '/5']);
    expect(engine.stats()).toMatchObject({ evictedConnections: 2, unanswered: 5, connections: 2 });
  });

  it('caps what one direction buffers: a head that never ends is counted unparsed, not kept', () => {
    const engine = new L7Engine({ maxBufferBytes: 4096 });
    engine.push(chunk('egress', 'GET /endless HTTP/1.1\r\n', 1));
    const line = 'X-Filler: ' + 'f'.repeat(1000) + '\r\n';
    for (let i = 0; i < 10_000; i++) engine.push(chunk('egress', line, 2 + i));
    const s = engine.connectionStats(CONN);
    // Everything past the first 4 KiB is dropped as it comes: at most one cap's worth is ever held.
    expect(s.parsedBytes).toBe(0);
    expect(s.unparsedBytes).toBeGreaterThan(10_000 * line.length - 4096);
    expect(engine.closeConnection(CONN)).toEqual([]);
    expect(engine.stats().unparsedBytes).toBe(10_000 * line.length + 'GET /endless HTTP/1.1\r\n'.length);
  });

  it('parses a head written one byte at a time, and bounds the pieces a head may come in', () => {
    const head = get('/bytewise', 'X-Pad: ' + 'p'.repeat(100) + '\r\n');
    const engine = new L7Engine();
    for (let i = 0; i < 200; i++) engine.push(chunk('egress', head.slice(i, i + 1), 1));
    const out = run(engine, [chunk('egress', head.slice(200), 2), chunk('ingress', ok('y'), 3)]);
    expect(out.map((e) => [e.http?.path, e.latencyNs])).toEqual([['/bytewise', 2n * MS]]);
    const slow = new L7Engine();
    const long = get('/slow', 'X-Pad: ' + 'p'.repeat(300) + '\r\n');
    const outSlow = run(slow, [...Array.from(long, (c, i) => chunk('egress', c, i)), chunk('ingress', ok('y'), 999)]);
    expect(outSlow).toEqual([]);
    expect(slow.stats()).toMatchObject({ unparsedBytes: long.length, orphanResponses: 1 });
  });

  it('is symmetric: the same bytes seen from the server socket give the server role and the same exchanges', () => {
    const flip = (c: L7Chunk): L7Chunk => ({ ...c, direction: c.direction === 'egress' ? 'ingress' : 'egress' });
    const chunks = [chunk('egress', get('/a') + get('/b'), 1), chunk('ingress', ok('1'), 2), chunk('ingress', chunked(['xy']), 3)];
    const asClient = run(new L7Engine(), chunks);
    const asServer = run(new L7Engine(), chunks.map(flip));
    expect(asServer.map((e) => e.role)).toEqual(['server', 'server']);
    expect(asServer.map((e) => ({ ...e, role: 'client' }))).toEqual(asClient);
  });

  it('never throws on invalid chunks', () => {
    const engine = new L7Engine();
    expect(engine.push({} as L7Chunk)).toEqual([]);
    expect(engine.push({ ...chunk('egress', 'x', 1), totalLength: -1 })).toEqual([]);
    expect(engine.stats().invalidChunks).toBe(2);
  });

  it('rejects invalid options with a clear error', () => {
    expect(() => new L7Engine({ maxConnections: 0 })).toThrow(/maxConnections/);
  });
});
