/**
 * The per-hit floor of a uprobe on this machine, by what the kernel does with the probed instruction: emulates it
 * (a `push %rbp` entry: one int3 trap), single-steps a copy out of line (a `sub $0x18,%rsp` entry, the first
 * instruction of Debian's SSL_read / SSL_write: a second trap, #DB, which a hypervisor intercepts), an `endbr64`
 * entry (CET builds; emulated as a nop on newer kernels only), and what a return probe adds to an emulated entry.
 * No BPF program: tracefs uprobe events with nothing attached to them, on functions of a small program compiled
 * here, so the figures are the kernel's trap path alone. Root, tracefs, cc; under the kernel lock:
 *   flock /tmp/sextant-kernel.lock npx tsx apps/collector/bench/uprobe-trap.ts
 * UPROBE_TRAP_CALLS (default 20000) calls per measurement.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ElfFile } from '@sextant/bpf';

const CALLS = Number(process.env.UPROBE_TRAP_CALLS ?? 20_000);
const TRACEFS = fs.existsSync('/sys/kernel/tracing/uprobe_events') ? '/sys/kernel/tracing' : '/sys/kernel/debug/tracing';
const GROUP = 'sextant_trap';

// Each function returns x + 1; only its first instruction differs.
const SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
long f_push(long), f_sub(long), f_endbr(long);
asm(".text\\n"
    ".globl f_push\\n.type f_push,@function\\nf_push: push %rbp\\n lea 1(%rdi),%rax\\n pop %rbp\\n ret\\n"
    ".globl f_sub\\n.type f_sub,@function\\nf_sub: sub $0x18,%rsp\\n lea 1(%rdi),%rax\\n add $0x18,%rsp\\n ret\\n"
    ".globl f_endbr\\n.type f_endbr,@function\\nf_endbr: endbr64\\n lea 1(%rdi),%rax\\n ret\\n");
int main(int argc, char **argv) {
  long (*f)(long) = !strcmp(argv[1], "push") ? f_push : !strcmp(argv[1], "sub") ? f_sub : f_endbr;
  long n = atol(argv[2]), s = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) s += f(i);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.4f %ld\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0, s);
  return 0;
}
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-trap-'));
const bin = path.join(dir, 'trap');
fs.writeFileSync(`${bin}.c`, SOURCE);
execFileSync('cc', ['-O2', '-o', bin, `${bin}.c`]);
const elf = ElfFile.open(bin, ['f_push', 'f_sub', 'f_endbr']);
const offset = (fn: string) => `0x${elf.fn(fn)!.fileOffset.toString(16)}`;

const events = (line: string) => fs.appendFileSync(`${TRACEFS}/uprobe_events`, `${line}\n`);
/** µs per call of `fn` with the given probes (tracefs definitions) enabled. */
function run(fn: string, probes: string[]): number {
  const names = probes.map((p) => p.split(/[:/ ]/)[2]!);
  for (const p of probes) events(p);
  try {
    for (const n of names) fs.writeFileSync(`${TRACEFS}/events/${GROUP}/${n}/enable`, '1');
    const out = execFileSync(bin, [fn.replace('f_', ''), String(CALLS)]).toString();
    return Number(out.split(' ')[0]);
  } finally {
    for (const n of names) {
      fs.writeFileSync(`${TRACEFS}/events/${GROUP}/${n}/enable`, '0');
      events(`-:${GROUP}/${n}`);
    }
  }
}

try {
  const entry = (fn: string) => `p:${GROUP}/${fn} ${bin}:${offset(fn)}`;
  const ret = (fn: string) => `r:${GROUP}/${fn}_ret ${bin}:${offset(fn)}`;
  const rows: [string, number][] = [
    ['no probe (push entry)', run('f_push', [])],
    ['entry probe, emulated (push %rbp)', run('f_push', [entry('f_push')])],
    ['entry probe, single-stepped (sub $0x18,%rsp)', run('f_sub', [entry('f_sub')])],
    ['entry probe on endbr64', run('f_endbr', [entry('f_endbr')])],
    ['entry + return probe (push %rbp)', run('f_push', [entry('f_push'), ret('f_push')])],
  ];
  console.log(`uprobe trap floor, ${CALLS} calls each, kernel ${os.release()}, ${os.cpus().length} CPUs (µs per call)`);
  for (const [what, us] of rows) console.log(`  ${what.padEnd(46)} ${us.toFixed(3)}`);
  const base = rows[0]![1];
  console.log(
    `  => emulated entry ${(rows[1]![1] - base).toFixed(2)} µs, single-stepped ${(rows[2]![1] - base).toFixed(2)} µs, ` +
      `endbr64 ${(rows[3]![1] - base).toFixed(2)} µs, a return probe adds ${(rows[4]![1] - rows[1]![1]).toFixed(2)} µs`,
  );
} finally {
  elf.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
