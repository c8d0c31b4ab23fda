/**
 * Test helper: a user-space TCP tee on 127.0.0.1 that forwards to a real server and records every read() on
 * both legs as an L7Chunk with a process.hrtime timestamp, as the kernel capture would from the client's
 * socket: bytes read from the client leg are what the client wrote (egress), bytes read from the server leg
 * what it will read (ingress). `captureBytes` truncates each record like the kernel's capture limit, so gaps
 * come from real traffic. Test use only.
 */
import net from 'node:net';
import type { L7Chunk } from '../types';

export type TeeEvent = { kind: 'chunk'; chunk: L7Chunk } | { kind: 'close'; connId: bigint };

export interface ChunkTee {
  port: number;
  /** Chunks and connection closes in the order the tee saw them. */
  events: TeeEvent[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Resolves once `n` connections have been fully closed on both legs (bounded by `timeoutMs`). */
  waitClosed(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startChunkTee(upstreamPort: number, opts: { captureBytes?: number; firstConnId?: bigint } = {}): Promise<ChunkTee> {
  const events: TeeEvent[] = [];
  const sockets = new Set<net.Socket>();
  let nextId = opts.firstConnId ?? 1n;
  let accepted = 0;
  let closed = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const limit = opts.captureBytes ?? Infinity;

  const record = (connId: bigint, direction: 'egress' | 'ingress', data: Buffer) => {
    const timestampNs = process.hrtime.bigint();
    const captured = data.length > limit ? data.subarray(0, limit) : data;
    events.push({
      kind: 'chunk',
      chunk: { connId, transport: 'tcp', direction, timestampNs, data: Buffer.from(captured), totalLength: data.length },
    });
  };

  const server = net.createServer((client) => {
    const connId = nextId++;
    accepted++;
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d) => {
      record(connId, 'egress', d);
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      record(connId, 'ingress', d);
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    let legsClosed = 0;
    const onClose = () => {
      if (++legsClosed < 2) {
        client.destroy();
        upstream.destroy();
        return;
      }
      sockets.delete(client);
      sockets.delete(upstream);
      events.push({ kind: 'close', connId });
      closed++;
      for (const w of waiters.splice(0)) {
        if (closed >= w.n) w.resolve();
        else waiters.push(w);
      }
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    events,
    get connections() {
      return accepted;
    },
    waitClosed: (n, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (closed >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`tee: ${closed}/${n} connections closed after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
