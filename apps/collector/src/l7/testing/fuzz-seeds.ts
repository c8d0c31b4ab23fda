/**
 * Seed captures for the L7 fuzzing (test suite and `npm run fuzz:l7`): handcrafted messages for each
 * parser, and real traffic recorded through the TCP tee (node http client and server; kafkajs against the
 * Kafka-protocol test broker). Test and bench use only.
 */
import http from 'node:http';
import type net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { capturesFromTee, seedChunk, type Capture } from './fuzz';
import { KafkaTestBroker } from './kafka-broker';
import { startChunkTee } from './tcp-tee';

export interface FuzzSeeds {
  http: Capture[];
  dnsUdp: Capture[];
  dnsTcp: Capture[];
  kafka: Capture[];
}

function dnsMessage(id: number, response: boolean, answers: number): Buffer {
  const parts = [Buffer.from([id >> 8, id & 255, response ? 0x81 : 0x01, response ? 0x80 : 0, 0, 1, 0, answers, 0, 0, 0, 0])];
  parts.push(Buffer.from([3, 0x61, 0x70, 0x69, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1]));
  for (let i = 0; i < answers; i++) parts.push(Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 10, 0, 0, i]));
  return Buffer.concat(parts);
}
const framed2 = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]);

export function handcraftedSeeds(): FuzzSeeds {
  return {
    http: [
      [
        seedChunk('egress', 'GET /a/1?token=x HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello', 1),
        seedChunk(
          'ingress',
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nabcde\r\n0\r\nT: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc',
          2,
        ),
      ],
      [seedChunk('egress', 'HEAD / HTTP/1.0\r\n\r\n', 1), seedChunk('ingress', 'HTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\n', 2)],
      [seedChunk('egress', 'GET /old HTTP/1.0\r\n\r\n', 1), seedChunk('ingress', 'HTTP/1.0 200 OK\r\n\r\nbody until close', 2)],
      [
        seedChunk('egress', 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n', 1),
        seedChunk('ingress', 'HTTP/1.1 101 Switching\r\n\r\n\x81\x00', 2),
      ],
      [
        seedChunk('ingress', 'PUT /s HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok', 1),
        seedChunk('egress', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n', 2),
      ],
    ],
    dnsUdp: [
      [seedChunk('egress', dnsMessage(1, false, 0), 1, 'udp'), seedChunk('ingress', dnsMessage(1, true, 2), 2, 'udp')],
      [seedChunk('ingress', dnsMessage(2, false, 0), 1, 'udp'), seedChunk('egress', dnsMessage(2, true, 0), 2, 'udp')],
    ],
    dnsTcp: [
      [
        seedChunk('egress', Buffer.concat([framed2(dnsMessage(1, false, 0)), framed2(dnsMessage(2, false, 0))]), 1),
        seedChunk('ingress', Buffer.concat([framed2(dnsMessage(2, true, 3)), framed2(dnsMessage(1, true, 1))]), 2),
      ],
    ],
    kafka: [],
  };
}

/** Records real HTTP and Kafka client traffic through the tee on 127.0.0.1 and adds it to the seeds. */
export async function addRealSeeds(seeds: FuzzSeeds): Promise<void> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.includes('chunked')) {
        res.write('part one ');
        res.end('part two');
      } else res.end(`path ${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const tee = await startChunkTee((server.address() as net.AddressInfo).port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (const path of ['/users/1?api_key=z', '/chunked', '/x/550e8400-e29b-41d4-a716-446655440000']) {
    for (const method of ['GET', 'POST']) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: tee.port, path, method, agent, headers: { cookie: 'a=b' } }, (res) =>
          res.resume().on('end', resolve),
        );
        req.on('error', reject);
        req.end(method === 'POST' ? '{"k":"v"}' : undefined);
      });
    }
  }
  agent.destroy();
  await tee.waitClosed(1);
  await tee.close();
  await new Promise((r) => server.close(r));
  seeds.http.push(...capturesFromTee(tee.events));

  const broker = new KafkaTestBroker({ topics: { orders: 1 } });
  await broker.start();
  const ktee = await startChunkTee(broker.port);
  broker.advertisedPort = ktee.port;
  try {
    const kafka = new Kafka({ clientId: 'fuzz', brokers: [`127.0.0.1:${ktee.port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [{ key: 'k', value: 'v' }] });
    await producer.send({ topic: 'missing', messages: [{ value: 'x' }] }).catch(() => undefined); // an error code
    await producer.disconnect();
    await ktee.waitClosed(ktee.connections);
  } finally {
    await ktee.close();
    await broker.stop();
  }
  seeds.kafka.push(...capturesFromTee(ktee.events));
}
