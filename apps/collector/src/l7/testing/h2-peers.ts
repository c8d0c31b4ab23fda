/**
 * Test helper: a node:http2 h2c server with a fixed route table, a TCP tee in front of it (testing/tcp-tee.ts)
 * and one http2 client session through the tee, so that tests replay exactly what a real HTTP/2 client and
 * server wrote. Routes answer by path: `/status/<code>`, `/slow/<ms>` (answers 200 after a delay), `/reset`
 * (the server resets the stream with INTERNAL_ERROR), and gRPC methods under `/grpc.test.Echo/`: `Ok`,
 * `NotFound` (grpc-status 5 in trailers), `Unimplemented` (trailers-only, 12). Test use only.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { L7Engine } from '../engine';
import type { L7Exchange, L7Options } from '../types';
import { startChunkTee, type TeeEvent } from './tcp-tee';

function route(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const path = String(headers[':path'] ?? '');
  stream.on('error', () => {});
  if (path.startsWith('/grpc.test.Echo/')) {
    stream.resume();
    stream.on('end', () => {
      const method = path.slice('/grpc.test.Echo/'.length);
      if (method === 'Unimplemented') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers(method === 'Ok' ? { 'grpc-status': '0' } : { 'grpc-status': '5', 'grpc-message': 'no such key: k%C3%A9y' }),
      );
      // One length-prefixed message: uncompressed, 3 bytes.
      stream.end(Buffer.from([0, 0, 0, 0, 3, 1, 2, 3]));
    });
    return;
  }
  stream.resume();
  stream.on('end', () => {
    if (path === '/reset') return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    const status = /^\/status\/(\d{3})$/.exec(path);
    if (status) {
      const code = Number(status[1]);
      stream.respond({ ':status': code, 'content-type': 'text/plain' }, { endStream: code === 204 });
      if (code !== 204) stream.end('ok');
      return;
    }
    const slow = /^\/slow\/(\d+)$/.exec(path);
    if (slow) {
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 200 });
        stream.end('slow');
      }, Number(slow[1]));
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(`path ${path}`);
  });
}

export interface H2Run {
  events: TeeEvent[];
  exchanges: L7Exchange[];
  engine: L7Engine;
}

/**
 * Starts the server and the tee (capturing `captureBytes` of each read), runs `scenario` with a client session
 * connected through the tee, closes everything, then replays the recording through a fresh engine.
 */
export async function runH2(
  scenario: (session: http2.ClientHttp2Session) => Promise<void>,
  opts: { captureBytes?: number; engine?: L7Options } = {},
): Promise<H2Run> {
  const server = http2.createServer();
  server.on('stream', route);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tee = await startChunkTee((server.address() as net.AddressInfo).port, { captureBytes: opts.captureBytes });
  try {
    const session = http2.connect(`http://127.0.0.1:${tee.port}`);
    session.on('error', () => {});
    await new Promise<void>((resolve, reject) => (session.once('connect', () => resolve()), session.once('error', reject)));
    await scenario(session);
    await new Promise<void>((resolve) => session.close(resolve));
    await tee.waitClosed(1);
  } finally {
    await tee.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const engine = new L7Engine(opts.engine);
  const exchanges: L7Exchange[] = [];
  for (const e of tee.events) exchanges.push(...(e.kind === 'chunk' ? engine.push(e.chunk) : engine.closeConnection(e.connId)));
  return { events: tee.events, exchanges, engine };
}

/** One request on the session; resolves with the status (or the reset code) once the stream is closed. */
export function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
  opts: { cancelAfterMs?: number } = {},
): Promise<{ status?: number; rstCode: number; trailers?: http2.IncomingHttpHeaders }> {
  return new Promise((resolve) => {
    const req = session.request(headers, { endStream: body === undefined });
    let status: number | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (t) => (trailers = t));
    req.on('error', () => {});
    req.resume();
    req.on('close', () => resolve({ status, rstCode: req.rstCode, trailers }));
    if (body !== undefined) req.end(body);
    if (opts.cancelAfterMs !== undefined) setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), opts.cancelAfterMs);
  });
}
