/**
 * Fuzzing every parser through the engine: ≥ 100k mutated or random captures each for HTTP, DNS over UDP,
 * DNS over TCP and Kafka, seeded with handcrafted messages and real client traffic recorded through the
 * TCP tee. No exception may escape, the engine may not catch an internal error, every byte must end up
 * parsed or unparsed, connections stay bounded; a sample of the exchanges must satisfy the event schemas.
 */
import { DnsInfo, HttpInfo, KafkaInfo } from '@sextant/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuzzEngine } from './testing/fuzz';
import { addRealSeeds, handcraftedSeeds, type FuzzSeeds } from './testing/fuzz-seeds';
import type { L7Exchange } from './types';

const N = Number(process.env.L7_FUZZ_N ?? 100_000);

function validate(e: L7Exchange, i: number) {
  if (i % 50 !== 0) return;
  if (e.http) HttpInfo.parse(e.http);
  if (e.dns) DnsInfo.parse(e.dns);
  if (e.kafka) KafkaInfo.parse(e.kafka);
}

describe('L7 parser fuzzing through the engine', () => {
  const seeds: FuzzSeeds = handcraftedSeeds();
  beforeAll(() => addRealSeeds(seeds));

  it.each([
    ['HTTP/1.x', 'http'],
    ['DNS over UDP', 'dnsUdp'],
    ['DNS over TCP', 'dnsTcp'],
    ['Kafka', 'kafka'],
  ] as const)(`%s: ${N} fuzzed captures, no exception, bytes accounted, memory bounded`, (name, key) => {
    expect(seeds[key].length).toBeGreaterThan(0);
    const r = fuzzEngine(seeds[key], N, 0x5eed + name.length, validate);
    expect(r.inputs).toBe(N);
    expect(r.exchanges).toBeGreaterThan(N / 20); // mutations keep enough of the protocol to pair
    expect(r.peakHeapBytes).toBeLessThan(1024 * 1024 * 1024);
  });

  it('can fail: a parser that throws is caught, counted and reported by the fuzz invariants', () => {
    const broken = [
      [
        {
          transport: 'tcp' as const,
          direction: 'egress' as const,
          timestampNs: 1n,
          data: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
          totalLength: 18,
        },
      ],
    ];
    const original = Buffer.prototype.indexOf;
    Buffer.prototype.indexOf = function () {
      throw new Error('injected');
    };
    try {
      expect(() => fuzzEngine(broken, 10, 1)).toThrow(/internal errors caught/);
    } finally {
      Buffer.prototype.indexOf = original;
    }
  });
});
