// CPU time of loading BPF objects (the verifier runs in the bpf() syscall, so it is this process's system
// time), interleaved so that a busy machine weighs on every object alike. Root, alone:
//   flock /tmp/sextant-kernel.lock npx tsx scripts/bench-load.ts <rounds> <a.o> [b.o …]
// Each load sets the globals the collector sets by default (l7 on, signals mode, capture 1024), loads every
// program (as the collector with a cgroup root and interim reports) and closes. Prints per object the median and mean CPU ms of load().
import { loadAddon } from '../src/native';
import { L7_MODES } from '../src/l7-probes';

const [roundsArg, ...objects] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1 || objects.length === 0) {
  console.error('usage: bench-load.ts <rounds> <object.o> [object.o …]');
  process.exit(2);
}
const addon = loadAddon();
if (!addon) {
  console.log('skipped: the libbpf addon is not available');
  process.exit(0);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function loadOnce(object: string): number {
  const h = addon!.open(object);
  if (h < 0) throw new Error(`open ${object}: ${h}`);
  try {
    addon!.setGlobal(h, 'l7_enabled', Buffer.from([1]));
    addon!.setGlobal(h, 'capture_bytes', u32(1024));
    addon!.setGlobal(h, 'l7_mode', Buffer.from([L7_MODES.signals]));
    const before = process.cpuUsage();
    const rc = addon!.load(h);
    const used = process.cpuUsage(before);
    if (rc < 0) throw new Error(`load ${object}: ${rc}`);
    return (used.user + used.system) / 1000;
  } finally {
    addon!.close(h);
  }
}

const samples = new Map<string, number[]>(objects.map((o) => [o, []]));
for (let r = 0; r < rounds; r++) for (const o of objects) samples.get(o)!.push(loadOnce(o));
for (const [o, ms] of samples) {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  console.log(
    `${o}: median ${median.toFixed(0)} ms, mean ${mean.toFixed(0)} ms CPU over ${ms.length} loads (${sorted.map((v) => v.toFixed(0)).join(' ')})`,
  );
}
