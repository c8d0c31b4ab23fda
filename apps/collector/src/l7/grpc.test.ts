/**
 * gRPC through the engine with a real @grpc/grpc-js client and server (h2c) behind the TCP tee: unary and
 * server-streaming calls with OK and error statuses, all on one channel (one HTTP/2 connection, streams in
 * flight together) → exact service, method, grpc-status and grpc-message per call, as the client saw them.
 */
import { describe, expect, it } from 'vitest';
import { L7Engine } from './engine';
import { grpcClient, startGrpcServer } from './testing/grpc-peers';
import { startChunkTee } from './testing/tcp-tee';
import type { L7Exchange } from './types';
import { decodeGrpcMessage, grpcNames, isGrpcContentType, parseGrpcStatus } from './grpc';

describe('gRPC from @grpc/grpc-js through the tee', () => {
  it('unary and server streaming, OK and errors: exact method, path and grpc-status per call', async () => {
    const server = await startGrpcServer();
    const tee = await startChunkTee(server.port);
    const client = grpcClient(tee.port);
    const calls = [
      client.get('a'),
      client.get('missing'),
      client.get('boom'),
      client.list('abcd'),
      client.list('flaky'),
      client.get('b'),
      client.list('xy'),
    ];
    const seen = await Promise.all(calls);
    client.close();
    await tee.waitClosed(1);
    await tee.close();
    await server.stop();
    expect(seen.map((s) => [s.method, s.code, s.replies])).toEqual([
      ['Get', 0, 1],
      ['Get', 5, 0],
      ['Get', 13, 0],
      ['List', 0, 4],
      ['List', 14, 2],
      ['Get', 0, 1],
      ['List', 0, 2],
    ]);
    const engine = new L7Engine();
    const out: L7Exchange[] = [];
    for (const e of tee.events) out.push(...(e.kind === 'chunk' ? engine.push(e.chunk) : engine.closeConnection(e.connId)));
    // grpc-js opens streams in call order on one connection: stream 2i+1 is call i.
    const byStream = [...out].sort((a, b) => a.http!.streamId! - b.http!.streamId!);
    expect(
      byStream.map((e) => [e.http!.streamId, e.http!.method, e.http!.path, e.http!.code, e.http!.grpc?.method, e.http!.grpc?.status]),
    ).toEqual(seen.map((s, i) => [2 * i + 1, 'POST', `/test.Store/${s.method}`, 200, s.method, s.code]));
    expect(byStream.every((e) => e.http!.grpc!.service === 'test.Store' && e.http!.protocol === 'HTTP/2')).toBe(true);
    expect(byStream.map((e) => e.http!.grpc!.message ?? '')).toEqual([
      'OK',
      'no key missing',
      'store failed',
      'OK',
      'backend went away',
      'OK',
      'OK',
    ]);
    expect(new Set(out.map((e) => e.connId)).size).toBe(1);
    expect(engine.stats()).toMatchObject({ unanswered: 0, orphanResponses: 0, unparsedBytes: 0, internalErrors: 0 });
  });
});

describe('gRPC names and trailers', () => {
  it('content types, :path shapes, grpc-status and percent-encoded grpc-message', () => {
    expect(
      ['application/grpc', 'application/grpc+proto', 'Application/GRPC; charset=x', 'application/grpc-web', 'text/plain', undefined].map(
        isGrpcContentType,
      ),
    ).toEqual([true, true, true, false, false, false]);
    expect(grpcNames('/pkg.v1.Svc/Do')).toEqual({ service: 'pkg.v1.Svc', method: 'Do' });
    expect(grpcNames('/a/b/c')).toBeNull();
    expect(['0', '16', ' 5 ', '-1', 'x', '99999999999', undefined].map(parseGrpcStatus)).toEqual([
      0,
      16,
      5,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(decodeGrpcMessage('caf%C3%A9 %25 done')).toBe('café % done');
    expect(decodeGrpcMessage('bad %E0%A4%A')).toBe('bad %E0%A4%A');
  });
});
