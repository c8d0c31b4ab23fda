/**
 * Test helpers: UDP and TCP tees on 127.0.0.1 that forward to a real upstream server (dnsmasq, the Kafka
 * test broker) and record every byte in each direction, so the parsers can be checked against what real
 * clients (dig, kafkajs, kcat) and servers actually put on the wire. Test use only.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface TeeRecord {
  /** Which tee connection (TCP) or client address (UDP) the bytes belong to. */
  conn: number;
  direction: 'toServer' | 'toClient';
  data: Buffer;
}

export interface Tee {
  port: number;
  records: TeeRecord[];
  close(): Promise<void>;
}

/** Forwards each datagram from a client to upstreamPort through a per-client socket, recording both ways. */
export async function startUdpTee(upstreamPort: number, port = 0): Promise<Tee> {
  const records: TeeRecord[] = [];
  const front = dgram.createSocket('udp4');
  const backs = new Map<string, dgram.Socket>();
  front.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let back = backs.get(key);
    const conn = back ? [...backs.keys()].indexOf(key) : backs.size;
    if (!back) {
      back = dgram.createSocket('udp4');
      back.on('message', (reply) => {
        records.push({ conn, direction: 'toClient', data: Buffer.from(reply) });
        front.send(reply, rinfo.port, rinfo.address);
      });
      backs.set(key, back);
    }
    records.push({ conn, direction: 'toServer', data: Buffer.from(msg) });
    back.send(msg, upstreamPort, '127.0.0.1');
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.bind(port, '127.0.0.1', () => {
      front.off('error', reject);
      resolve();
    });
  });
  return {
    port: front.address().port,
    records,
    close: async () => {
      for (const b of backs.values()) b.close();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}

export interface TcpTee extends Tee {
  /** The concatenated bytes of one direction of one connection. */
  stream(conn: number, direction: TeeRecord['direction']): Buffer;
  connections(): number;
}

/** A TCP proxy to upstreamPort recording every chunk in each direction. */
export async function startTcpTee(upstreamPort: number, port = 0): Promise<TcpTee> {
  const records: TeeRecord[] = [];
  const sockets = new Set<net.Socket>();
  let nextConn = 0;
  const server = net.createServer((client) => {
    const conn = nextConn++;
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => {
      records.push({ conn, direction: 'toServer', data: Buffer.from(d) });
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      records.push({ conn, direction: 'toClient', data: Buffer.from(d) });
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    records,
    stream: (conn, direction) => Buffer.concat(records.filter((r) => r.conn === conn && r.direction === direction).map((r) => r.data)),
    connections: () => nextConn,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A UDP and a TCP tee on the same port (as DNS clients expect for the TCP fallback), both to upstreamPort. */
export async function startDnsTee(upstreamPort: number): Promise<{ port: number; udp: Tee; tcp: TcpTee; close(): Promise<void> }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = await startUdpTee(upstreamPort);
    try {
      const tcp = await startTcpTee(upstreamPort, udp.port);
      return { port: udp.port, udp, tcp, close: async () => void (await Promise.all([udp.close(), tcp.close()])) };
    } catch {
      await udp.close(); // the TCP port was taken: try another one
    }
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1 after 20 attempts');
}

/** A port free for both UDP and TCP on 127.0.0.1 right now (for starting a real server on it). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve((tcp.address() as net.AddressInfo).port));
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error('no free port on 127.0.0.1 after 20 attempts');
}

/** Splits a stream of length-prefixed frames (2-byte for DNS over TCP, 4-byte for Kafka); drops a partial tail. */
export function splitFrames(stream: Buffer, prefixBytes: 2 | 4): Buffer[] {
  const frames: Buffer[] = [];
  let pos = 0;
  while (pos + prefixBytes <= stream.length) {
    const len = prefixBytes === 2 ? stream.readUInt16BE(pos) : stream.readInt32BE(pos);
    if (len < 0 || pos + prefixBytes + len > stream.length) break;
    frames.push(stream.subarray(pos + prefixBytes, pos + prefixBytes + len));
    pos += prefixBytes + len;
  }
  return frames;
}
