/**
 * Signals mode as the engine sees it: the kernel copies only the HTTP exchanges it keeps, each as its request
 * then its response, both marked with the same reason; the rest leave no trace. A finished exchange must
 * never join one exchange's request to another's response, whatever records a full ring loses.
 */
import type { L7Sampling } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { L7Engine } from './engine';
import type { L7Chunk, L7Exchange } from './types';

const conn = 7n;
let ts = 1_000_000n;
function chunk(direction: 'egress' | 'ingress', text: string, sampling?: L7Sampling): L7Chunk {
  ts += 1000n;
  const data = Buffer.from(text, 'latin1');
  const c: L7Chunk = { connId: conn, transport: 'tcp', direction, timestampNs: ts, data, totalLength: data.length };
  if (sampling) c.sampling = sampling;
  return c;
}
const request = (path: string, sampling?: L7Sampling) => chunk('egress', `GET ${path} HTTP/1.1\r\nHost: shop.test\r\n\r\n`, sampling);
const response = (code: number, sampling?: L7Sampling) => chunk('ingress', `HTTP/1.1 ${code} X\r\nContent-Length: 2\r\n\r\nok`, sampling);
const summary = (x: L7Exchange[]) => x.map((e) => [e.http?.path, e.http?.code ?? null, e.sampling ?? null]);

function feed(engine: L7Engine, chunks: L7Chunk[]): L7Exchange[] {
  const out: L7Exchange[] = [];
  for (const c of chunks) out.push(...engine.push(c));
  return out;
}

describe('L7 engine: sampled exchanges (signals mode)', () => {
  it('carries the reason of each kept exchange; full-path exchanges have none', () => {
    const engine = new L7Engine();
    const out = feed(engine, [
      request('/a', 'sampled'),
      response(200, 'sampled'),
      request('/b', 'error'),
      response(503, 'error'),
      request('/c', 'slow'),
      response(200, 'slow'),
      request('/d', 'capture'),
      response(404, 'capture'),
      // the socket went to the full path (e.g. pipelining): every exchange a record, unmarked
      request('/e'),
      response(200),
    ]);
    expect(summary(out)).toEqual([
      ['/a', 200, 'sampled'],
      ['/b', 503, 'error'],
      ['/c', 200, 'slow'],
      ['/d', 404, 'capture'],
      ['/e', 200, null],
    ]);
    expect(engine.stats().unmatchedSampled).toBe(0);
  });

  it('never pairs a sampled request whose response was lost with a later exchange’s response', () => {
    const engine = new L7Engine();
    const out = feed(engine, [
      request('/lost-response', 'sampled'),
      // (its response record was lost) … exchanges not kept leave nothing … then a kept error:
      request('/boom', 'error'),
      response(500, 'error'),
    ]);
    expect(summary(out)).toEqual([['/boom', 500, 'error']]);
    expect(engine.stats().unmatchedSampled).toBe(1);
  });

  it('drops a sampled response whose request was lost instead of answering an older request', () => {
    const engine = new L7Engine();
    const out = feed(engine, [
      request('/a', 'sampled'),
      response(200, 'sampled'),
      response(503, 'error'),
      request('/c', 'slow'),
      response(200, 'slow'),
    ]);
    expect(summary(out)).toEqual([
      ['/a', 200, 'sampled'],
      ['/c', 200, 'slow'],
    ]);
    expect(engine.stats()).toMatchObject({ unmatchedSampled: 1, orphanResponses: 0 });
  });

  it('does not answer a sampled request with a full-path response (the socket switched after a loss)', () => {
    const engine = new L7Engine();
    const out = feed(engine, [request('/kept', 'error'), request('/full'), response(200)]);
    expect(summary(out)).toEqual([['/full', 200, null]]);
    expect(engine.stats().unmatchedSampled).toBe(1);
  });

  it('reports no sampled request as unanswered at close (its response was lost; the kernel counted it)', () => {
    const engine = new L7Engine();
    feed(engine, [request('/kept', 'sampled'), request('/full')]);
    const out = engine.closeConnection(conn);
    expect(summary(out)).toEqual([['/full', null, null]]);
    expect(engine.stats()).toMatchObject({ unmatchedSampled: 1, unanswered: 1 });
  });

  it('pipelined in one write: the kernel counted the first request of the chunk; the others are reported unsampled', () => {
    const twoWrites = new L7Engine();
    const reqs = (s: L7Sampling) => chunk('egress', ['/p1', '/p2', '/p3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''), s);
    const res = (code: number) => `HTTP/1.1 ${code} X\r\nContent-Length: 2\r\n\r\nok`;
    // the responses in one read, then (another exchange) in three reads
    const out = feed(twoWrites, [reqs('sampled'), chunk('ingress', res(200) + res(503) + res(201), 'sampled')]);
    out.push(
      ...feed(twoWrites, [
        reqs('error'),
        chunk('ingress', res(500), 'error'),
        chunk('ingress', res(200), 'error'),
        chunk('ingress', res(404), 'error'),
      ]),
    );
    expect(summary(out)).toEqual([
      ['/p1', 200, 'sampled'],
      ['/p2', 503, null],
      ['/p3', 201, null],
      ['/p1', 500, 'error'],
      ['/p2', 200, null],
      ['/p3', 404, null],
    ]);
    // a response lost among them: the rest still pair in order, and the request left over is unanswered at close
    const lossy = new L7Engine();
    const got = feed(lossy, [reqs('slow'), chunk('ingress', res(200), 'slow'), chunk('ingress', res(202), 'slow')]);
    got.push(...lossy.closeConnection(conn));
    expect(summary(got)).toEqual([
      ['/p1', 200, 'slow'],
      ['/p2', 202, null],
      ['/p3', null, null],
    ]);
    expect(lossy.stats()).toMatchObject({ unmatchedSampled: 0, unanswered: 1 });
  });

  it('refuses a chunk with an unknown sampling reason', () => {
    const engine = new L7Engine();
    feed(engine, [{ ...request('/a'), sampling: 'most' as L7Sampling }]);
    expect(engine.stats().invalidChunks).toBe(1);
  });

  it('random kept exchanges and lost records: every finished exchange is one real exchange, with its own reason and status', () => {
    // The only pairing records cannot tell apart: a sampled request whose response was lost, fed just before a
    // response of the same reason whose request was lost (two losses in a row, one per exchange). Such a pair is
    // allowed, and checked to be exactly that; every other finished exchange is one exchange's own two halves.
    let seed = 12345; // deterministic: the same 20 × 400 exchanges on every run
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const reasons: (L7Sampling | undefined)[] = ['sampled', 'error', 'slow', 'capture', undefined];
    let crossed = 0;
    for (let round = 0; round < 20; round++) {
      const engine = new L7Engine();
      const truth = new Map<string, { code: number; sampling: L7Sampling; lost: 'request' | 'response' | null }>();
      const chunks: L7Chunk[] = [];
      let delivered = 0;
      for (let i = 0; i < 400; i++) {
        const sampling = reasons[Math.floor(rnd() * reasons.length)];
        if (!sampling) continue; // aggregated, not kept: nothing reaches user space
        const code = sampling === 'error' ? 500 + Math.floor(rnd() * 4) : 200 + Math.floor(rnd() * 4); // (not 204: no body)
        const id = `x${i}`;
        const loss = rnd();
        const lost = loss < 0.1 ? 'request' : loss < 0.2 ? 'response' : null;
        truth.set(id, { code, sampling, lost });
        if (lost !== 'request') chunks.push(request(`/${id}`, sampling));
        if (lost !== 'response')
          chunks.push(chunk('ingress', `HTTP/1.1 ${code} X\r\nX-Request-Id: ${id}\r\nContent-Length: 2\r\n\r\nok`, sampling));
        if (!lost) delivered++;
      }
      const out = [...feed(engine, chunks), ...engine.closeConnection(conn)];
      let genuine = 0;
      for (const e of out) {
        const req = truth.get(e.http!.path!.slice(1))!;
        const resId = e.http!.headers!.find((h) => h.key === 'x-request-id')!.value;
        const res = truth.get(resId)!;
        expect([e.http?.code, e.sampling]).toEqual([res.code, res.sampling]);
        expect(req.sampling).toBe(res.sampling);
        if (e.http!.path === `/${resId}`) genuine++;
        else {
          expect([req.lost, res.lost]).toEqual(['response', 'request']);
          crossed++;
        }
      }
      expect(genuine).toBe(delivered);
    }
    expect(crossed).toBeLessThan(20); // rare: ~1 in 400 exchanges at a 10 % + 10 % loss
  });
});
