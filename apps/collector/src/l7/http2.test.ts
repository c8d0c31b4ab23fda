/**
 * HTTP/2 through the engine with bytes written by node's own http2 client and server (h2c through the TCP
 * tee): many streams in flight on one connection answered out of order, resets from either side, gRPC calls
 * with grpc-status in trailers and trailers-only, and header blocks lost past the capture limit (marked not
 * decodable, never guessed). Exact records are compared with what the peers themselves saw.
 */
import { HttpInfo } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { L7Engine } from './engine';
import { PREFACE, readFrameHeader } from './http2-frames';
import { request, runH2 } from './testing/h2-peers';
import type { L7Exchange } from './types';

const brief = (e: L7Exchange) => ({
  method: e.http!.method,
  path: e.http!.path,
  code: e.http!.code,
  ...(e.http!.reset ? { reset: e.http!.reset } : {}),
  ...(e.http!.notDecodable ? { notDecodable: e.http!.notDecodable } : {}),
  ...(e.http!.grpc ? { grpc: e.http!.grpc } : {}),
});
const byStream = (xs: L7Exchange[]) => [...xs].sort((a, b) => a.http!.streamId! - b.http!.streamId!);

describe('HTTP/2 (h2c) from node http2 through the tee', () => {
  it('pairs 40 concurrent streams on one connection by id, answered out of order, with exact method/path/status', async () => {
    const plan: { method: string; path: string; code: number; body?: string }[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 5 === 0) plan.push({ method: 'GET', path: `/slow/${60 - i}`, code: 200 });
      else if (i % 5 === 1) plan.push({ method: 'POST', path: '/status/201', code: 201, body: 'x'.repeat(100 + i) });
      else if (i % 5 === 2) plan.push({ method: 'GET', path: '/status/404', code: 404 });
      else if (i % 5 === 3) plan.push({ method: 'DELETE', path: `/status/503`, code: 503 });
      else plan.push({ method: 'PUT', path: `/items/${i}?token=secret${i}`, code: 200, body: '{}' });
    }
    let seen: { status?: number }[] = [];
    const run = await runH2(async (session) => {
      seen = await Promise.all(
        plan.map((p) => request(session, { ':method': p.method, ':path': p.path, 'user-agent': 'h2-test' }, p.body)),
      );
    });
    expect(seen.map((s) => s.status)).toEqual(plan.map((p) => p.code));
    expect(run.exchanges).toHaveLength(40);
    const got = byStream(run.exchanges);
    got.forEach((e, i) => {
      const p = plan[i]!;
      expect(e.http!.streamId).toBe(2 * i + 1);
      expect(e.role).toBe('client');
      expect(e.http!.protocol).toBe('HTTP/2');
      expect(e.http!.method).toBe(p.method);
      expect(e.http!.path).toBe(p.path.split('?')[0]);
      expect(e.http!.code).toBe(p.code);
      expect(e.http!.host).toBe(`127.0.0.1:${e.http!.host!.split(':')[1]}`);
      expect(e.http!.headers).toContainEqual({ key: 'user-agent', value: 'h2-test' });
      if (p.body) expect(e.http!.requestBytes).toBe(p.body.length);
      expect(e.latencyNs).toBeGreaterThanOrEqual(0n);
      expect(e.responseTimeNs! - e.requestTimeNs).toBe(e.latencyNs);
      expect(e.http!.notDecodable).toBeUndefined();
      HttpInfo.parse(e.http);
    });
    // Query values redacted, path templated.
    expect(got[4]!.http!.url).toBe('/items/4?token=REDACTED');
    expect(got[4]!.http!.pathTemplate).toBe('/items/{id}');
    // Slow streams were answered after later ones: pairing is by id, not order.
    const order = run.exchanges.map((e) => e.http!.streamId);
    expect(order.indexOf(1)).toBeGreaterThan(order.indexOf(3));
    const s = run.engine.stats();
    expect(s.unanswered).toBe(0);
    expect(s.orphanResponses).toBe(0);
    expect(s.unparsedBytes).toBe(0);
    expect(s.internalErrors).toBe(0);
  });

  it('reports resets: the server resetting with INTERNAL_ERROR, the client cancelling a slow stream', async () => {
    let r: { status?: number; rstCode: number }[] = [];
    const run = await runH2(async (session) => {
      r = await Promise.all([
        request(session, { ':path': '/reset' }),
        request(session, { ':path': '/slow/2000' }, undefined, { cancelAfterMs: 50 }),
        request(session, { ':path': '/status/204' }),
      ]);
    });
    expect(r.map((x) => x.rstCode)).toEqual([2, 8, 0]);
    expect(byStream(run.exchanges).map(brief)).toEqual([
      { method: 'GET', path: '/reset', code: undefined, reset: 'INTERNAL_ERROR' },
      { method: 'GET', path: '/slow/2000', code: undefined, reset: 'CANCEL' },
      { method: 'GET', path: '/status/204', code: 204 },
    ]);
  });

  it('gRPC: service and method from :path, grpc-status and grpc-message from trailers or a trailers-only response', async () => {
    const frame = Buffer.from([0, 0, 0, 0, 2, 8, 1]);
    const grpcHeaders = (m: string) => ({
      ':method': 'POST',
      ':path': `/grpc.test.Echo/${m}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let r: { trailers?: Record<string, unknown>; status?: number }[] = [];
    const run = await runH2(async (session) => {
      r = await Promise.all(['Ok', 'NotFound', 'Unimplemented'].map((m) => request(session, grpcHeaders(m), frame)));
    });
    expect(r[1]!.trailers?.['grpc-status']).toBe('5');
    expect(byStream(run.exchanges).map(brief)).toEqual([
      { method: 'POST', path: '/grpc.test.Echo/Ok', code: 200, grpc: { service: 'grpc.test.Echo', method: 'Ok', status: 0 } },
      {
        method: 'POST',
        path: '/grpc.test.Echo/NotFound',
        code: 200,
        grpc: { service: 'grpc.test.Echo', method: 'NotFound', status: 5, message: 'no such key: kéy' },
      },
      {
        method: 'POST',
        path: '/grpc.test.Echo/Unimplemented',
        code: 200,
        grpc: { service: 'grpc.test.Echo', method: 'Unimplemented', status: 12 },
      },
    ]);
    for (const e of run.exchanges) expect(e.http!.requestBytes).toBe(frame.length);
  });

  it('a header block past the capture limit: that stream is truncated, later request blocks table-lost, responses still read', async () => {
    const run = await runH2(
      async (session) => {
        await request(session, { ':path': '/status/200', 'x-first': 'a' });
        await request(session, { ':path': '/status/201', 'x-big': 'b'.repeat(3000) });
        await request(session, { ':path': '/status/404' });
      },
      { captureBytes: 1024 },
    );
    expect(byStream(run.exchanges).map(brief)).toEqual([
      { method: 'GET', path: '/status/200', code: 200 },
      { method: '', path: '', code: 201, notDecodable: 'truncated' },
      { method: '', path: '', code: 404, notDecodable: 'table-lost' },
    ]);
    for (const e of run.exchanges) HttpInfo.parse(e.http);
  });

  it('frames of one write past its capture (the kernel copies 8 iovecs; node writes a frame per iovec): streams known from their responses, names not decodable', async () => {
    const codes = [200, 201, 404, 503, 204];
    const run = await runH2(async (session) => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => request(session, { ':path': `/status/${codes[i % 5]}` })));
    });
    // The client's first write: preface, SETTINGS, then 20 HEADERS frames. Keep preface + SETTINGS + 6 frames.
    const first = run.events.find((e) => e.kind === 'chunk' && e.chunk.direction === 'egress' && e.chunk.data.length > 200);
    if (first?.kind !== 'chunk') throw new Error('no batched write recorded');
    let cut = PREFACE.length;
    for (let frames = 0; frames < 7; frames++) cut += 9 + readFrameHeader(first.chunk.data, cut).length;
    const engine = new L7Engine();
    const out = run.events.flatMap((e) => {
      if (e.kind === 'close') return engine.closeConnection(e.connId);
      return engine.push(e === first ? { ...e.chunk, data: e.chunk.data.subarray(0, cut) } : e.chunk);
    });
    const got = byStream(out);
    expect(got).toHaveLength(20);
    got.forEach((e, i) => {
      const code = codes[i % 5]!;
      if (i < 6) {
        expect(brief(e)).toEqual({ method: 'GET', path: `/status/${code}`, code });
        expect(e.latencyNs).toBeGreaterThanOrEqual(0n);
      } else {
        expect(brief(e)).toEqual({ method: '', path: '', code, notDecodable: 'truncated' });
        expect(e.latencyNs).toBeUndefined();
      }
    });
    expect(engine.stats().orphanResponses).toBe(0);
  });

  it('the server side of the same bytes (directions swapped): the same exchanges, role server', async () => {
    const run = await runH2(async (session) => {
      await Promise.all(
        ['/status/200', '/status/404', '/grpc.test.Echo/NotFound'].map((p) =>
          request(session, { ':method': 'POST', ':path': p, 'content-type': p.includes('grpc') ? 'application/grpc' : 'text/plain' }, 'x'),
        ),
      );
    });
    const engine = new L7Engine();
    const swapped = run.events.flatMap((e) => {
      if (e.kind === 'close') return engine.closeConnection(e.connId);
      return engine.push({ ...e.chunk, direction: e.chunk.direction === 'egress' ? 'ingress' : 'egress' });
    });
    expect(swapped.map((e) => e.role)).toEqual(['server', 'server', 'server']);
    expect(byStream(swapped).map(brief)).toEqual(byStream(run.exchanges).map(brief));
    expect(byStream(swapped).map(brief)[2]).toMatchObject({ code: 200, grpc: { method: 'NotFound', status: 5 } });
  });
});
