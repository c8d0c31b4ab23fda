/**
 * `npm run fuzz:l7` — longer fuzzing of the L7 engine than the test suite: L7_FUZZ_N captures per parser
 * (default 1,000,000), seeded with handcrafted messages and real traffic recorded on 127.0.0.1. Prints
 * inputs/s and peak heap per parser; exits non-zero when an invariant breaks (anything thrown).
 */
import { fuzzEngine } from '../src/l7/testing/fuzz';
import { addRealSeeds, handcraftedSeeds } from '../src/l7/testing/fuzz-seeds';

const n = Number(process.env.L7_FUZZ_N ?? 1_000_000);
const seed = Number(process.env.L7_FUZZ_SEED ?? 1);
if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`L7_FUZZ_N must be a positive integer, got ${process.env.L7_FUZZ_N}`);

const seeds = handcraftedSeeds();
await addRealSeeds(seeds);
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
console.log(`L7 fuzz: ${n.toLocaleString('en')} captures per parser, seed ${seed}`);
for (const [name, key] of [
  ['HTTP/1.x', 'http'],
  ['DNS/UDP', 'dnsUdp'],
  ['DNS/TCP', 'dnsTcp'],
  ['Kafka', 'kafka'],
] as const) {
  const r = fuzzEngine(seeds[key], n, seed);
  console.log(
    `${name.padEnd(9)} ${r.inputs.toLocaleString('en')} inputs (${r.chunks.toLocaleString('en')} chunks, ${mb(r.bytes)} MiB) in ${(r.ms / 1000).toFixed(1)} s: ` +
      `${Math.round((r.inputs / r.ms) * 1000).toLocaleString('en')} inputs/s, ${r.exchanges.toLocaleString('en')} exchanges, peak heap ${mb(r.peakHeapBytes)} MiB`,
  );
}
console.log('no exception escaped; no internal error; every byte accounted parsed or unparsed');
