/**
 * HTTP/2 framing and stream rules with handcrafted frames (what node's own peers do not send): padded HEADERS
 * with priority fields, a header block split over CONTINUATION frames and over syscalls, 1xx interim
 * responses, GOAWAY refusing streams above its last id, a SETTINGS table size, an interrupted block, and a gap
 * inside DATA that keeps the framing.
 */
import { describe, expect, it } from 'vitest';
import { L7Engine } from './engine';
import { FLAG, FRAME, PREFACE } from './http2-frames';
import { h2Frame as frame, literalBlock as block } from './testing/h2-wire';
import type { L7Chunk, L7Exchange } from './types';

const req = (path: string, method = 'GET') =>
  block([
    [':method', method],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'api.test'],
  ]);
const res = (status: string, extra: [string, string][] = []) => block([[':status', status], ...extra]);
const settings = (entries: [number, number][] = []) =>
  frame(
    FRAME.SETTINGS,
    0,
    0,
    Buffer.concat(entries.map(([id, v]) => Buffer.from([id >> 8, id & 0xff, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]))),
  );

let t = 0n;
const out = (dir: 'egress' | 'ingress', data: Buffer, totalLength = data.length): L7Chunk => ({
  connId: 7n,
  transport: 'tcp',
  direction: dir,
  timestampNs: (t += 1000n),
  data,
  totalLength,
});
function run(chunks: L7Chunk[]): { ex: L7Exchange[]; engine: L7Engine } {
  const engine = new L7Engine();
  const ex = chunks.flatMap((c) => engine.push(c));
  ex.push(...engine.closeConnection(7n));
  return { ex, engine };
}
const brief = (e: L7Exchange) => [
  e.http!.streamId,
  e.http!.method,
  e.http!.path,
  e.http!.code ?? null,
  e.http!.reset ?? null,
  e.http!.notDecodable ?? null,
];

describe('HTTP/2 frames and streams (handcrafted)', () => {
  it('padded HEADERS with priority, a block over CONTINUATION split across syscalls, 1xx interim responses', () => {
    const padded = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), req('/a', 'POST'), Buffer.alloc(3)]);
    const b = req('/b');
    const h1 = frame(FRAME.HEADERS, FLAG.PADDED | FLAG.PRIORITY | FLAG.END_HEADERS, 1, padded);
    const h3 = frame(FRAME.HEADERS, FLAG.END_STREAM, 3, b.subarray(0, 10));
    const c3 = frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 3, b.subarray(10));
    const both = Buffer.concat([PREFACE, settings(), h1, frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from('body')), h3, c3]);
    const { ex, engine } = run([
      out('egress', both.subarray(0, 100)),
      out('egress', both.subarray(100)),
      out('ingress', Buffer.concat([settings(), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, res('100'))])),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, res('204'))),
      out(
        'ingress',
        Buffer.concat([frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, res('201')), frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from('ok'))]),
      ),
    ]);
    expect(ex.map(brief)).toEqual([
      [3, 'GET', '/b', 204, null, null],
      [1, 'POST', '/a', 201, null, null],
    ]);
    expect(ex[1]!.http).toMatchObject({ host: 'api.test', requestBytes: 4, responseBytes: 2 });
    // Latency runs to the final response, not the 100.
    expect(ex[1]!.latencyNs).toBe(ex[1]!.responseTimeNs! - ex[1]!.requestTimeNs);
    expect(ex[1]!.responseTimeNs! - ex[1]!.requestTimeNs).toBe(4000n);
    expect(engine.stats()).toMatchObject({ unparsedBytes: 0, unanswered: 0, orphanResponses: 0 });
  });

  it('GOAWAY refuses the streams above its last id; RST_STREAM from the client cancels', () => {
    const goaway = Buffer.alloc(8);
    goaway.writeUInt32BE(3, 0);
    const { ex } = run([
      out(
        'egress',
        Buffer.concat([PREFACE, ...[1, 3, 5, 7].map((id) => frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, req(`/s${id}`)))]),
      ),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, res('200'))),
      out('egress', frame(FRAME.RST_STREAM, 0, 3, Buffer.from([0, 0, 0, 8]))),
      out('ingress', frame(FRAME.GOAWAY, 0, 0, goaway)),
    ]);
    expect(ex.map(brief)).toEqual([
      [1, 'GET', '/s1', 200, null, null],
      [3, 'GET', '/s3', null, 'CANCEL', null],
      [5, 'GET', '/s5', null, 'REFUSED_STREAM', null],
      [7, 'GET', '/s7', null, 'REFUSED_STREAM', null],
    ]);
  });

  it('a gap inside DATA keeps the framing; a gap past a HEADERS frame loses that block and the table', () => {
    const body = Buffer.alloc(5000, 1);
    const post = Buffer.concat([
      PREFACE,
      frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, req('/upload', 'POST')),
      frame(FRAME.DATA, FLAG.END_STREAM, 1, body),
    ]);
    const big = frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, req('/x'.repeat(300)));
    const { ex } = run([
      out('egress', post.subarray(0, 200), post.length),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, res('200'))),
      out('egress', big.subarray(0, 100), big.length),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, res('200'))),
      out('egress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 5, req('/after'))),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 5, res('404'))),
    ]);
    expect(ex.map(brief)).toEqual([
      [1, 'POST', '/upload', 200, null, null],
      [3, '', '', 200, null, 'truncated'],
      [5, '', '', 404, null, 'table-lost'],
    ]);
    expect(ex[0]!.http!.requestBytes).toBe(5000);
  });

  it('a block interrupted by another frame is lost; a table size update beyond the SETTINGS value is not decodable', () => {
    const b = req('/a');
    // The server allows a 8192-byte table: a request block that sets 8192 decodes; the response side only
    // allows the default 4096, so a response block setting 8192 does not.
    const update8192 = Buffer.from([0x3f, 0xe1, 0x3f]);
    const { ex } = run([
      out('egress', PREFACE),
      out('ingress', settings([[1, 8192]])),
      out('egress', frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.concat([update8192, b]))),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.concat([update8192, res('200')]))),
      out('egress', Buffer.concat([frame(FRAME.HEADERS, 0, 3, b.subarray(0, 5)), frame(FRAME.PING, 0, 0, Buffer.alloc(8))])),
      out('ingress', frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, res('200'))),
    ]);
    expect(ex.map(brief)).toEqual([
      [1, 'GET', '/a', null, null, 'table-lost'],
      [3, '', '', null, null, 'truncated'],
    ]);
  });
});
