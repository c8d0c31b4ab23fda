/**
 * The start-up memory of opening the probes (L7 on), for comparing how open() decides between the socket and
 * syscall tracepoints. Prints one JSON line: RSS before open, and after it RSS, VmHWM (peak RSS), heap, external.
 * MODE=default: open() decides itself (the addon's BTF lookup); MODE=js-scan: this script decides the way open()
 * did before that lookup (reads /sys/kernel/btf/vmlinux into a Buffer and scans it) and passes l7Hooks;
 * MODE=none: l7Hooks 'sock' with no lookup at all (the floor). tsx alone adds ~40 MB of RSS, so bundle first:
 *   npx esbuild packages/bpf/scripts/startup-mem.ts --bundle --platform=node --format=esm \
 *     --outfile=node_modules/.cache/sextant-startup-mem.mjs \
 *     --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
 *   MODE=js-scan flock /tmp/sextant-kernel.lock node node_modules/.cache/sextant-startup-mem.mjs
 * 6.18, x86_64, 5 runs each: VmHWM after open 65.6-65.8 MB default, 74.5-74.6 js-scan, 65.5-65.7 none.
 */
import fs from 'node:fs';
import { SextantProbes } from '../src/probes';

const mode = process.env.MODE ?? 'default';
const kb = (field: string) =>
  Number(
    /(\d+) kB/.exec(
      fs
        .readFileSync('/proc/self/status', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(field))!,
    )![1],
  );
const mb = (n: number) => +(n / 1048576).toFixed(1);
const m0 = process.memoryUsage();
const before = { rssMb: mb(m0.rss), hwmMb: +(kb('VmHWM:') / 1024).toFixed(1), arrayBuffersMb: mb(m0.arrayBuffers) };
let l7Hooks: 'sock' | 'syscalls' | undefined;
if (mode === 'js-scan') {
  let btf: Buffer | undefined;
  try {
    btf = fs.readFileSync('/sys/kernel/btf/vmlinux');
  } catch {
    btf = undefined;
  }
  l7Hooks =
    process.arch === 'x64' && !!btf && btf.includes('\0btf_trace_sock_send_length\0') && btf.includes('\0btf_trace_sock_recv_length\0')
      ? 'sock'
      : 'syscalls';
} else if (mode === 'none') l7Hooks = 'sock';
const t0 = performance.now();
const probes = SextantProbes.open({ l7: true, l7Hooks, cgroupRoot: null, updateIntervalMs: 0 });
const openMs = performance.now() - t0;
const m = process.memoryUsage();
const after = {
  mode,
  hooks: probes.l7Hooks,
  openMs: Math.round(openMs),
  rssMb: mb(m.rss),
  hwmMb: +(kb('VmHWM:') / 1024).toFixed(1),
  heapUsedMb: mb(m.heapUsed),
  externalMb: mb(m.external),
  arrayBuffersMb: mb(m.arrayBuffers),
};
probes.close();
console.log(JSON.stringify({ before, after }));
