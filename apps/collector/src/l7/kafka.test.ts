import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KafkaInfo, mulberry32 } from '@sextant/shared';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { L7ParseError } from './errors';
import { kafkaDetails, looksLikeKafkaRequest, parseKafkaRequest, parseKafkaResponse, type KafkaRequest, type KafkaResponse } from './kafka';
import { kafkaApiName } from './kafka-apis';
import { KafkaTestBroker } from './testing/kafka-broker';
import { splitFrames, startTcpTee, type TcpTee } from './testing/udp-tee';

const run = promisify(execFile);

interface Pair {
  req: KafkaRequest;
  res?: KafkaResponse;
  reqBytes: number;
}
/** Every connection's request frames parsed and paired in order with its response frames. */
function parsePairs(tee: TcpTee, fromConn = 0): Pair[] {
  const pairs: Pair[] = [];
  for (let c = fromConn; c < tee.connections(); c++) {
    const requests = splitFrames(tee.stream(c, 'toServer'), 4);
    const responses = splitFrames(tee.stream(c, 'toClient'), 4);
    // Responses come back in request order on a connection; pair them by position, then check the ids agree.
    requests.forEach((frame, i) => {
      const req = parseKafkaRequest(frame);
      const resFrame = responses[i];
      pairs.push({ req, res: resFrame && parseKafkaResponse(resFrame, req), reqBytes: frame.length + 4 });
    });
  }
  return pairs;
}

/** Real frames seen in the client tests, reused as fuzz seeds. */
const capturedRequests: Buffer[] = [];
const capturedResponses: { frame: Buffer; req: KafkaRequest }[] = [];
function keepForFuzz(tee: TcpTee) {
  for (let c = 0; c < tee.connections(); c++) {
    const requests = splitFrames(tee.stream(c, 'toServer'), 4);
    const responses = splitFrames(tee.stream(c, 'toClient'), 4);
    requests.forEach((f, i) => {
      capturedRequests.push(f);
      if (responses[i]) capturedResponses.push({ frame: responses[i], req: parseKafkaRequest(f) });
    });
  }
}

describe('kcat (librdkafka) against the test broker through a tee', () => {
  let broker: KafkaTestBroker;
  let tee: TcpTee;
  beforeAll(async () => {
    broker = new KafkaTestBroker({ topics: { orders: 2 } });
    await broker.start();
    tee = await startTcpTee(broker.port);
    broker.advertisedPort = tee.port;
  });
  afterAll(async () => {
    keepForFuzz(tee);
    await tee.close();
    await broker.stop();
  });

  /** librdkafka's own protocol log: the ground truth of what it sent and received. */
  async function kcat(args: string[], input?: string) {
    const from = tee.connections();
    const p = run('kcat', ['-b', `127.0.0.1:${tee.port}`, '-d', 'protocol', ...args], { timeout: 30_000 });
    p.child.stdin!.end(input ?? '');
    // A failed delivery makes kcat exit non-zero; its output is what the test checks.
    const { stdout, stderr } = await p.catch((e: { stdout: string; stderr: string }) => e);
    const truth = [...stderr.matchAll(/Sent (\w+)Request \(v(\d+), (\d+) bytes @ 0, CorrId (\d+)\)/g)].map((m) => ({
      name: m[1]!,
      version: Number(m[2]),
      bytes: Number(m[3]),
      correlationId: Number(m[4]),
    }));
    const received = [...stderr.matchAll(/Received (\w+)Response \(v(\d+), \d+ bytes, CorrId (\d+)/g)].map((m) => Number(m[3]));
    await new Promise((r) => setTimeout(r, 50)); // let the tee record the last bytes
    return { stdout, truth, received, pairs: parsePairs(tee, from) };
  }
  const librdkafkaName = (n: string) => ({ ApiVersion: 'ApiVersions', Offset: 'ListOffsets', Offsets: 'ListOffsets' })[n] ?? n;

  function expectMatchesTruth(pairs: Pair[], truth: Awaited<ReturnType<typeof kcat>>['truth']) {
    const seen = pairs.map((p) => `${p.req.apiKeyName} v${p.req.apiVersion} #${p.req.correlationId} ${p.reqBytes}B`).toSorted();
    expect(seen).toEqual(truth.map((t) => `${librdkafkaName(t.name)} v${t.version} #${t.correlationId} ${t.bytes}B`).toSorted());
    for (const p of pairs) if (p.res) expect(p.res.correlationId).toBe(p.req.correlationId);
    for (const p of pairs) expect(p.req.clientId).toBe('rdkafka');
  }

  it('-L: ApiVersions (flexible v3) and Metadata for all topics', async () => {
    const { stdout, truth, pairs } = await kcat(['-L']);
    expect(stdout).toContain('topic "orders" with 2 partitions');
    expectMatchesTruth(pairs, truth);
    expect(pairs.map((p) => p.req.apiKeyName)).toContain('ApiVersions');
    const apiVersions = pairs.find((p) => p.req.apiKeyName === 'ApiVersions')!;
    expect(apiVersions.req.apiVersion).toBe(3);
    expect(apiVersions.res?.errorCode).toBe(0);
    const metadata = pairs.filter((p) => p.req.apiKeyName === 'Metadata');
    expect(metadata.some((p) => p.res?.topics.includes('orders'))).toBe(true);
  });

  it('-P and -C: Produce and Fetch topics, then produce to a missing topic gives 3', async () => {
    const produced = await kcat(['-P', '-t', 'orders', '-p', '1'], 'one\ntwo\nthree\n');
    expectMatchesTruth(produced.pairs, produced.truth);
    // Usually one Produce for the three lines; librdkafka sends two when stdin's lines straddle its linger
    // window (seen once in CI): as many as its own log says it sent.
    const produce = produced.pairs.filter((p) => p.req.apiKeyName === 'Produce');
    expect(produce.length).toBeGreaterThanOrEqual(1);
    expect(produce).toHaveLength(produced.truth.filter((t) => t.name === 'Produce').length);
    for (const p of produce)
      expect(kafkaDetails(p.req, p.res)).toEqual({
        apiKey: 'Produce',
        apiVersion: 7,
        correlationId: p.req.correlationId,
        clientId: 'rdkafka',
        topic: 'orders',
        errorCode: 0,
      });

    const consumed = await kcat(['-C', '-t', 'orders', '-p', '1', '-o', 'beginning', '-c', '3', '-e']);
    expect(consumed.stdout.trim().split('\n')).toEqual(['one', 'two', 'three']);
    expectMatchesTruth(consumed.pairs, consumed.truth);
    // The last Fetch is still waiting for data when kcat exits after 3 messages: only answered ones have an error code.
    const fetches = consumed.pairs.filter((p) => p.req.apiKeyName === 'Fetch' && p.res);
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    for (const f of fetches) expect(kafkaDetails(f.req, f.res)).toMatchObject({ apiVersion: 11, topic: 'orders', errorCode: 0 });
    expect(consumed.pairs.some((p) => p.req.apiKeyName === 'ListOffsets' && p.res?.errorCode === 0)).toBe(true);

    const m = await kcat(['-P', '-t', 'missing', '-X', 'message.timeout.ms=1500'], 'x\n');
    expectMatchesTruth(m.pairs, m.truth);
    // kcat may exit with one more Metadata request in flight: check the answered ones.
    const metadataMissing = m.pairs.filter((p) => p.req.apiKeyName === 'Metadata' && p.req.topics.includes('missing') && p.res);
    expect(metadataMissing.length).toBeGreaterThan(0);
    for (const p of metadataMissing) expect(kafkaDetails(p.req, p.res)).toMatchObject({ topic: 'missing', errorCode: 3 });
  });
});

describe('kcat (librdkafka) consumer group against the test broker through a tee', () => {
  it('-G: FindCoordinator, JoinGroup, SyncGroup, OffsetCommit, LeaveGroup with the ids librdkafka logged', async () => {
    const broker = new KafkaTestBroker({ topics: { audit: 1 } });
    await broker.start();
    const tee = await startTcpTee(broker.port);
    broker.advertisedPort = tee.port;
    try {
      const produce = run('kcat', ['-b', `127.0.0.1:${tee.port}`, '-P', '-t', 'audit'], { timeout: 30_000 });
      produce.child.stdin!.end('login\nlogout\n');
      await produce;
      const consume = run(
        'kcat',
        ['-b', `127.0.0.1:${tee.port}`, '-d', 'protocol', '-G', 'auditors', '-X', 'auto.offset.reset=earliest', '-c', '2', '-e', 'audit'],
        { timeout: 30_000 },
      );
      const { stdout, stderr } = await consume;
      expect(stdout.trim().split('\n')).toEqual(['login', 'logout']);
      await new Promise((r) => setTimeout(r, 50));
      const truth = [...stderr.matchAll(/Sent (\w+)Request \(v(\d+), (\d+) bytes @ 0, CorrId (\d+)\)/g)].map(
        (m) => `${m[1] === 'ApiVersion' ? 'ApiVersions' : m[1]} v${m[2]} #${m[4]} ${m[3]}B`,
      );
      const pairs = parsePairs(tee, 1); // connection 0 was the producer
      expect(pairs.map((p) => `${p.req.apiKeyName} v${p.req.apiVersion} #${p.req.correlationId} ${p.reqBytes}B`).toSorted()).toEqual(
        truth.toSorted(),
      );
      const names = new Set(pairs.map((p) => p.req.apiKeyName));
      for (const name of ['FindCoordinator', 'JoinGroup', 'SyncGroup', 'OffsetCommit', 'LeaveGroup', 'Fetch'])
        expect(names.has(name), name).toBe(true);
      for (const p of pairs.filter(
        (p) => p.res && ['FindCoordinator', 'JoinGroup', 'SyncGroup', 'LeaveGroup', 'Heartbeat'].includes(p.req.apiKeyName),
      )) {
        expect(p.res!.correlationId).toBe(p.req.correlationId);
        expect(kafkaDetails(p.req, p.res).errorCode, p.req.apiKeyName).toBe(0);
      }
      expect(broker.committed.get('auditors/audit/0')).toBe(2n);
      // OffsetFetch v7 is flexible: a real client's request header v2 (client id, then tagged fields).
      const offsetFetch = pairs.filter((p) => p.req.apiKeyName === 'OffsetFetch');
      expect(offsetFetch.map((p) => [p.req.apiVersion, p.req.clientId, p.res?.correlationId])).toEqual(
        offsetFetch.map((p) => [7, 'rdkafka', p.req.correlationId]),
      );
      expect(offsetFetch.length).toBeGreaterThan(0);
      keepForFuzz(tee);
    } finally {
      await tee.close();
      await broker.stop();
    }
  });
});

describe('kafkajs producer and consumer against the test broker through a tee', () => {
  it('reports the same api keys, versions, correlation ids, topics and error codes kafkajs saw', async () => {
    const broker = new KafkaTestBroker({ topics: { payments: 1 } });
    await broker.start();
    const tee = await startTcpTee(broker.port);
    broker.advertisedPort = tee.port;
    const kafka = new Kafka({
      clientId: 'sextant-test',
      brokers: [`127.0.0.1:${tee.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 50 },
    });
    const truth: string[] = [];
    const record = (e: { payload: { apiKey: number; apiVersion: number; correlationId: number } }) =>
      truth.push(`${kafkaApiName(e.payload.apiKey)} v${e.payload.apiVersion} #${e.payload.correlationId}`);
    try {
      const producer = kafka.producer();
      producer.on(producer.events.REQUEST, record);
      await producer.connect();
      await producer.send({
        topic: 'payments',
        messages: [
          { key: 'a', value: '100' },
          { key: 'b', value: '250' },
        ],
      });
      const err = await producer.send({ topic: 'nope', messages: [{ value: 'x' }] }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      // A topic deleted under the producer's cached metadata: the Produce response itself carries error 3.
      broker.createTopic('doomed');
      await producer.send({ topic: 'doomed', messages: [{ value: 'first' }] });
      broker.deleteTopic('doomed');
      expect(await producer.send({ topic: 'doomed', messages: [{ value: 'second' }] }).catch((e: Error) => e)).toBeInstanceOf(Error);
      await producer.disconnect();

      const consumer = kafka.consumer({ groupId: 'billing', heartbeatInterval: 300 });
      consumer.on(consumer.events.REQUEST, record);
      await consumer.connect();
      await consumer.subscribe({ topic: 'payments', fromBeginning: true });
      const values: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumer got only ${values.join(',')}`)), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            values.push(message.value!.toString());
            if (values.length === 2) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      await new Promise((r) => setTimeout(r, 1000)); // a few more fetch loops, so heartbeats go out too
      await consumer.disconnect();
      expect(values).toEqual(['100', '250']);
      await new Promise((r) => setTimeout(r, 50));

      const pairs = parsePairs(tee);
      // kafkajs emits REQUEST when a response arrives: every parsed request that got a response is one of them.
      const answered = pairs.filter((p) => p.res).map((p) => `${p.req.apiKeyName} v${p.req.apiVersion} #${p.req.correlationId}`);
      expect(answered.toSorted()).toEqual(truth.toSorted());
      for (const p of pairs) {
        expect(p.req.clientId).toBe('sextant-test');
        if (p.res) expect(p.res.correlationId).toBe(p.req.correlationId);
      }
      const by = (name: string) => pairs.filter((p) => p.req.apiKeyName === name).map((p) => kafkaDetails(p.req, p.res));
      const produce = { apiKey: 'Produce', apiVersion: 7, correlationId: expect.any(Number), clientId: 'sextant-test' };
      const produces = by('Produce');
      expect(produces.slice(0, 2)).toEqual([
        { ...produce, topic: 'payments', errorCode: 0 },
        { ...produce, topic: 'doomed', errorCode: 0 },
      ]);
      expect(produces.length).toBeGreaterThanOrEqual(3); // kafkajs retries the failed one
      for (const d of produces.slice(2)) expect(d).toEqual({ ...produce, topic: 'doomed', errorCode: 3 });
      const metadata = by('Metadata').map((d) => `${d.topic}:${d.errorCode}`);
      expect(metadata).toContain('nope:3');
      expect(metadata.filter((m) => m.startsWith('payments:') && m !== 'payments:0')).toEqual([]); // an error names its own topic
      expect(by('Fetch').length).toBeGreaterThan(0);
      for (const d of by('Fetch')) expect(d).toMatchObject({ apiVersion: 11, topic: 'payments', errorCode: 0 });
      for (const name of [
        'FindCoordinator',
        'JoinGroup',
        'SyncGroup',
        'Heartbeat',
        'LeaveGroup',
        'ApiVersions',
        'OffsetFetch',
        'OffsetCommit',
        'ListOffsets',
      ]) {
        expect(by(name).length, name).toBeGreaterThan(0);
        // Error codes are read for the group APIs with a top-level one; offsets APIs report none.
        for (const d of by(name)) expect(d.errorCode, name).toBe(name.startsWith('Offset') || name === 'ListOffsets' ? undefined : 0);
      }
      for (const d of [...by('Produce'), ...by('Fetch'), ...by('Metadata')]) expect(KafkaInfo.parse(d)).toEqual(d);
      keepForFuzz(tee);
    } finally {
      await tee.close();
      await broker.stop();
    }
  });
});

describe('captures cut short', () => {
  it('every prefix of every real frame parses without error to a prefix of the full result', () => {
    let prefixes = 0;
    for (const frame of capturedRequests) {
      const size = Buffer.alloc(4);
      size.writeInt32BE(frame.length);
      expect(looksLikeKafkaRequest(Buffer.concat([size, frame]))).toBe(true);
      const full = parseKafkaRequest(frame);
      for (let cut = 8; cut <= frame.length; cut++) {
        const part = parseKafkaRequest(frame.subarray(0, cut));
        expect({ ...part, clientId: undefined, topics: [] }).toEqual({ ...full, clientId: undefined, topics: [] });
        expect(full.topics.slice(0, part.topics.length)).toEqual(part.topics);
        prefixes++;
      }
    }
    for (const { frame, req } of capturedResponses) {
      const full = parseKafkaResponse(frame, req);
      for (let cut = 4; cut <= frame.length; cut++) {
        const part = parseKafkaResponse(frame.subarray(0, cut), req);
        expect(part.correlationId).toBe(full.correlationId);
        expect(full.topics.slice(0, part.topics.length)).toEqual(part.topics);
        if (part.errorCode !== 0) expect(part.errorCode).toBe(full.errorCode);
        prefixes++;
      }
    }
    expect(prefixes).toBeGreaterThan(1000);
  });
});

describe('fuzz', () => {
  it('only L7ParseError escapes the Kafka parsers for 110k random and mutated real frames each, and the details fit KafkaInfo', () => {
    expect(capturedRequests.length).toBeGreaterThan(20);
    const rand = mulberry32(9); // deterministic: a failing input can be reproduced
    const mutate = (seed: Buffer): Buffer => {
      const b = Buffer.from(seed);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips && b.length > 0; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      return rand() < 0.4 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
    };
    const randomBytes = (): Buffer => {
      const b = Buffer.alloc(Math.floor(rand() * 64));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      if (b.length >= 4 && rand() < 0.5) b.writeInt16BE(Math.floor(rand() * 20), 0); // a known api key
      return b;
    };
    const outcomes = { request: [0, 0], response: [0, 0] };
    const attempt = (kind: 'request' | 'response', fn: () => unknown, input: Buffer) => {
      try {
        fn();
        outcomes[kind][0]!++;
      } catch (e) {
        if (!(e instanceof L7ParseError)) throw new Error(`${kind}: non-L7ParseError on ${input.toString('hex')}: ${String(e)}`);
        outcomes[kind][1]!++;
      }
    };
    for (let i = 0; i < 110_000; i++) {
      const reqInput = i % 4 === 0 ? randomBytes() : mutate(capturedRequests[i % capturedRequests.length]!);
      attempt(
        'request',
        () => {
          looksLikeKafkaRequest(reqInput);
          const details = kafkaDetails(parseKafkaRequest(reqInput), undefined);
          if (!KafkaInfo.safeParse(details).success) throw new Error(`invalid KafkaInfo ${JSON.stringify(details)}`);
        },
        reqInput,
      );
      const seed = capturedResponses[i % capturedResponses.length]!;
      const resInput = i % 4 === 0 ? randomBytes() : mutate(seed.frame);
      attempt(
        'response',
        () => {
          const details = kafkaDetails(seed.req, parseKafkaResponse(resInput, seed.req));
          if (!KafkaInfo.safeParse(details).success) throw new Error(`invalid KafkaInfo ${JSON.stringify(details)}`);
        },
        resInput,
      );
    }
    expect(outcomes.request[0]! + outcomes.request[1]!).toBe(110_000);
    expect(outcomes.response[0]! + outcomes.response[1]!).toBe(110_000);
    expect(outcomes.request[0]).toBeGreaterThan(10_000);
    expect(outcomes.request[1]).toBeGreaterThan(1_000);
  });
});
