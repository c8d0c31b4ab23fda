/**
 * Fuzzing HTTP/2 and HPACK, as the other parsers are fuzzed (engine-fuzz.test.ts): captures recorded from node
 * http2 and @grpc/grpc-js through the tee (many streams, resets, gRPC trailers, a capture limit that cuts
 * header blocks) are mutated and pushed through the engine — nothing may throw, no internal error may be
 * caught, every byte is accounted, memory stays bounded, a sample of exchanges satisfies the schema. Header
 * blocks (RFC 7541 examples and real ones) are mutated into the HPACK decoder directly: it may only throw
 * L7ParseError, and its table never exceeds what was allowed.
 */
import { HttpInfo, mulberry32 } from '@sextant/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { L7ParseError } from './errors';
import { HpackDecoder } from './hpack';
import { FRAME, PREFACE, readFrameHeader } from './http2-frames';
import { capturesFromTee, fuzzEngine, type Capture } from './testing/fuzz';
import { grpcClient, startGrpcServer } from './testing/grpc-peers';
import { request, runH2 } from './testing/h2-peers';
import { startChunkTee } from './testing/tcp-tee';

const N = Number(process.env.L7_FUZZ_N ?? 100_000);
const seeds: Capture[] = [];
const blocks: Buffer[] = [];

/** The header blocks (single-frame HEADERS) a capture carries, for the HPACK fuzzer. */
function headerBlocks(c: Capture): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of c) {
    let pos = chunk.data.subarray(0, PREFACE.length).equals(PREFACE) ? PREFACE.length : 0;
    while (pos + 9 <= chunk.data.length) {
      const h = readFrameHeader(chunk.data, pos);
      if (h.type === FRAME.HEADERS && h.flags === 0x4 && pos + 9 + h.length <= chunk.data.length)
        out.push(chunk.data.subarray(pos + 9, pos + 9 + h.length));
      pos += 9 + h.length;
    }
  }
  return out;
}

beforeAll(async () => {
  const h2 = async (captureBytes?: number) =>
    runH2(
      async (s) => {
        await Promise.all([
          ...Array.from({ length: 8 }, (_, i) => request(s, { ':path': `/status/${[200, 404, 503, 204][i % 4]}`, 'x-n': String(i) })),
          request(
            s,
            { ':method': 'POST', ':path': '/grpc.test.Echo/NotFound', 'content-type': 'application/grpc' },
            Buffer.from([0, 0, 0, 0, 1, 7]),
          ),
          request(
            s,
            { ':method': 'POST', ':path': '/grpc.test.Echo/Unimplemented', 'content-type': 'application/grpc' },
            Buffer.from([0, 0, 0, 0, 0]),
          ),
          request(s, { ':path': '/reset' }),
          request(s, { ':path': '/slow/30' }, undefined, { cancelAfterMs: 5 }),
          request(s, { ':method': 'PUT', ':path': '/big', 'x-big': 'v'.repeat(1500) }, 'body'),
        ]);
      },
      { captureBytes },
    );
  for (const cap of [undefined, 1024, 200]) seeds.push(...capturesFromTee((await h2(cap)).events));
  const server = await startGrpcServer();
  const tee = await startChunkTee(server.port);
  const client = grpcClient(tee.port);
  await Promise.all([client.get('a'), client.get('missing'), client.list('abc'), client.list('flaky')]);
  client.close();
  await tee.waitClosed(1);
  await tee.close();
  await server.stop();
  seeds.push(...capturesFromTee(tee.events));
  for (const s of seeds) blocks.push(...headerBlocks(s));
  // RFC 7541 C.3.1 and C.4.3.
  blocks.push(Buffer.from('828684410f7777772e6578616d706c652e636f6d', 'hex'));
  blocks.push(Buffer.from('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf', 'hex'));
});

describe('HTTP/2 and HPACK fuzzing', () => {
  it(`HTTP/2 through the engine: ${N} fuzzed captures, no exception, bytes accounted, memory bounded`, () => {
    expect(seeds.length).toBeGreaterThanOrEqual(4);
    const r = fuzzEngine(seeds, N, 0x4e2, (e, i) => {
      if (i % 50 === 0 && e.http) HttpInfo.parse(e.http);
    });
    expect(r.inputs).toBe(N);
    expect(r.exchanges).toBeGreaterThan(N / 20);
    expect(r.peakHeapBytes).toBeLessThan(1024 * 1024 * 1024);
  });

  it(`HPACK: ${N} mutated header blocks on long-lived decoders throw only L7ParseError and keep their table bounded`, () => {
    expect(blocks.length).toBeGreaterThan(10);
    const rand = mulberry32(0x5ac);
    const pick = (n: number) => Math.floor(rand() * n);
    let decoder = new HpackDecoder(8192);
    let failures = 0;
    for (let i = 0; i < N; i++) {
      if (i % 64 === 0) decoder = new HpackDecoder(8192);
      const b = Buffer.from(blocks[pick(blocks.length)]!);
      const edits = pick(4);
      for (let k = 0; k < edits; k++) if (b.length) b[pick(b.length)] = pick(256);
      const block = rand() < 0.1 ? b.subarray(0, pick(b.length + 1)) : b;
      try {
        decoder.decode(block, 16);
      } catch (err) {
        if (!(err instanceof L7ParseError)) throw err;
        failures++;
      }
      expect(decoder.tableSize).toBeLessThanOrEqual(8192);
    }
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(N);
  });
});
