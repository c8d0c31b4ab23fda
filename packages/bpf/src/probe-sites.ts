/**
 * Where to put the TLS uprobes of one file so that the kernel does not single-step them.
 *
 * A uprobe replaces the probed instruction's first byte with int3. On a hit, x86-64 Linux (arch/x86/kernel/
 * uprobes.c) either emulates the original instruction (push of a register, with no prefix or exactly REX 0x41;
 * nop; call/jmp rel32, jmp rel8, jcc rel8/rel32 without a 0x66 prefix) or executes a copy of it out of line
 * under the trap flag: a second exception (#DB), which a hypervisor such as KVM intercepts. Measured on these
 * VMs (apps/collector/bench/uprobe-trap.ts): ~0.65 µs per hit on an emulated push, ~20 µs on a single-stepped
 * `sub $0x18,%rsp`. Debian's libssl.so.3 begins SSL_read / SSL_write with exactly such a `sub`, and SSL_read_ex /
 * SSL_write_ex with `sub $8,%rsp; call <internal>`: thin wrappers of OpenSSL's ssl_read_internal /
 * ssl_write_internal (ssl_lib.c: SSL_read and SSL_read_ex both only wrap ssl_read_internal; same for write),
 * which begin with `push %r13` / `push %r14` (emulated).
 *
 * Per file and per direction (read, write):
 *  1. both SSL_read and SSL_read_ex begin with an emulated instruction (node's OpenSSL: `push %rbp`): probe the
 *     symbols as before;
 *  2. else, when SSL_read_ex is the thin-wrapper shape (its first bytes exactly `sub $8,%rsp; call rel32`, so the
 *     callee receives SSL_read_ex's four arguments unchanged, then no other call or jump before its `ret`), the
 *     callee begins with an emulated instruction and SSL_read calls that same callee: probe only the callee, by
 *     file offset, with the *_ex semantics (SSL*, buffer, length, size_t *done; > 0 on success). One probe
 *     serves both functions: never also the wrappers, so no call is recorded twice;
 *  3. else: the symbols, and the functions whose probe site the kernel single-steps are reported
 *     (TlsAttachment.singleStepped, the collector's health detail tlsSingleStepSites).
 * An `endbr64` first (CET builds) is stepped over: the probe goes on the instruction after it when that one is
 * emulated (endbr64 changes no register or memory, so entry and return probes see the same state).
 * SSL_do_handshake keeps its symbol (reported when single-stepped). Other architectures: symbols, not decoded.
 */
import { EM_X86_64, ElfFile } from './elf-symbols';

export type InsnKind = 'push' | 'nop' | 'call' | 'jmp' | 'jcc' | 'endbr64' | 'other';

export interface Insn {
  kind: InsnKind;
  /** Its length in bytes (0 for 'other': not decoded further). */
  length: number;
  /** call / jmp / jcc: the target relative to the instruction's first byte. */
  rel?: number;
}

/** The first instruction of `b` at `at`, as far as uprobe emulation goes (everything else is 'other'). */
export function decodeInsn(b: Buffer, at = 0): Insn {
  const x = (i: number) => (at + i < b.length ? b[at + i]! : -1);
  const rel32 = (i: number) => (at + i + 4 <= b.length ? b.readInt32LE(at + i) : undefined);
  const op = x(0);
  if (op === 0xf3 && x(1) === 0x0f && x(2) === 0x1e && x(3) === 0xfa) return { kind: 'endbr64', length: 4 };
  if (op >= 0x50 && op <= 0x57) return { kind: 'push', length: 1 };
  if (op === 0x41 && x(1) >= 0x50 && x(1) <= 0x57) return { kind: 'push', length: 2 };
  if (op === 0x90) return { kind: 'nop', length: 1 };
  if (op === 0xe8 || op === 0xe9) {
    const r = rel32(1);
    if (r !== undefined) return { kind: op === 0xe8 ? 'call' : 'jmp', length: 5, rel: 5 + r };
  }
  if ((op === 0xeb || (op >= 0x70 && op <= 0x7f)) && x(1) >= 0) {
    return { kind: op === 0xeb ? 'jmp' : 'jcc', length: 2, rel: 2 + b.readInt8(at + 1) };
  }
  if (op === 0x0f && x(1) >= 0x80 && x(1) <= 0x8f) {
    const r = rel32(2);
    if (r !== undefined) return { kind: 'jcc', length: 6, rel: 6 + r };
  }
  return { kind: 'other', length: 0 };
}

/** Whether the x86-64 kernel emulates this instruction at a uprobe hit (no out-of-line single step). */
export function kernelEmulates(i: Insn): boolean {
  return i.kind === 'push' || i.kind === 'nop' || i.kind === 'call' || i.kind === 'jmp' || i.kind === 'jcc';
}

/** Where a function's probe goes: `skip` bytes past its start (an endbr64), and whether the kernel emulates it. */
export function entrySite(code: Buffer): { skip: number; emulated: boolean } {
  const first = decodeInsn(code);
  if (first.kind === 'endbr64') {
    const next = decodeInsn(code, first.length);
    if (kernelEmulates(next)) return { skip: first.length, emulated: true };
  }
  return { skip: 0, emulated: kernelEmulates(first) };
}

const SUB8_RSP = [0x48, 0x83, 0xec, 0x08];
/** How far after the call the wrapper's `ret` may be (Debian's: 19 bytes, clearing the scratch registers). */
const WRAPPER_TAIL = 32;

/**
 * The callee of a thin wrapper (`[endbr64] sub $8,%rsp; call rel32`, then a `ret` within 32 bytes with no byte
 * 0xe8 / 0xe9 (call / jmp rel32) before it: a heuristic, not a decode), relative to the wrapper's first byte;
 * undefined for any other shape.
 */
export function thinWrapperCallee(code: Buffer): number | undefined {
  const p = decodeInsn(code).kind === 'endbr64' ? 4 : 0;
  if (!SUB8_RSP.every((v, i) => code[p + i] === v)) return undefined;
  const call = decodeInsn(code, p + 4);
  if (call.kind !== 'call') return undefined;
  const tail = code.subarray(p + 9, p + 9 + WRAPPER_TAIL);
  const ret = tail.indexOf(0xc3);
  if (ret < 0 || tail.subarray(0, ret).some((v) => v === 0xe8 || v === 0xe9)) return undefined;
  return p + 4 + call.rel!;
}

/** Whether `code` (a function's bytes) holds a `call rel32` to `target` (relative to the function's first byte). */
export function callsTo(code: Buffer, target: number): boolean {
  for (let i = code.indexOf(0xe8); i >= 0 && i + 5 <= code.length; i = code.indexOf(0xe8, i + 1)) {
    if (i + 5 + code.readInt32LE(i + 1) === target) return true;
  }
  return false;
}

/**
 * One uprobe: program, entry or return, and where: a symbol plus bytes, or (func '') a file offset. `fileOffset`,
 * set on every hook of a decoded file, is where that is in the file: attached there, libbpf does not look the
 * symbol up again (it would read the file's symbol tables anew for each of the ten attaches: 7 MB for node).
 */
export interface TlsHook {
  program: string;
  retprobe: boolean;
  func: string;
  offset: number;
  fileOffset?: number;
}

export interface TlsSitePlan {
  hooks: TlsHook[];
  /** Directions probed at OpenSSL's internal function instead of SSL_x / SSL_x_ex. */
  internal: ('read' | 'write')[];
  /** Functions probed on an instruction the kernel single-steps (the expensive path); [] when none. */
  singleStepped: string[];
  /** Set when the file could not be decoded (not x86-64 ELF …): symbols, cost unknown. */
  undecoded?: string;
}

const DIRECTIONS = [
  { dir: 'read', plain: 'SSL_read', ex: 'SSL_read_ex', program: 'sx_tls_read_entry', exProgram: 'sx_tls_read_ex_entry' },
  { dir: 'write', plain: 'SSL_write', ex: 'SSL_write_ex', program: 'sx_tls_write_entry', exProgram: 'sx_tls_write_ex_entry' },
] as const;
const HANDSHAKE = { func: 'SSL_do_handshake', program: 'sx_tls_handshake_entry' };
const RETURN = 'sx_tls_return';
/** Bytes of SSL_read / SSL_write searched for the call to the internal function. */
const MAX_SCAN = 4096;

/**
 * The probe sites for the TLS programs in one file (see the file comment). `symbols`: never the internal
 * functions (the sites as before this selection existed; single-stepped ones still reported).
 */
export function planTlsSites(path: string, mode: 'auto' | 'symbols' = 'auto'): TlsSitePlan {
  const symbols = (): TlsSitePlan => ({ hooks: symbolHooks(), internal: [], singleStepped: [] });
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path, [...DIRECTIONS.flatMap((d) => [d.plain, d.ex]), HANDSHAKE.func]);
  } catch (err) {
    return { ...symbols(), undecoded: (err as Error).message };
  }
  try {
    if (elf.machine !== EM_X86_64) return { ...symbols(), undecoded: `ELF machine ${elf.machine}, not x86-64` };
    const site = (name: string) => {
      const f = elf.fn(name);
      return f && { f, ...entrySite(elf.code(f.vaddr, 16)) };
    };
    // The probe's bytes past the symbol, and where that is in the file (absent symbol: libbpf names it in its error).
    const at = (s: ReturnType<typeof site>) => (s ? { offset: s.skip, fileOffset: s.f.fileOffset + s.skip } : { offset: 0 });
    const entries: { func: string; offset: number; program: string; fileOffset?: number }[] = [];
    const plan: TlsSitePlan = { hooks: [], internal: [], singleStepped: [] };
    for (const d of DIRECTIONS) {
      const plain = site(d.plain);
      const ex = site(d.ex);
      const needed = mode === 'auto' && !(plain?.emulated && ex?.emulated);
      const internal = needed && plain && ex ? internalSite(elf, plain.f, ex.f) : undefined;
      if (internal !== undefined) {
        entries.push({ func: '', offset: internal, program: d.exProgram, fileOffset: internal });
        plan.internal.push(d.dir);
        continue;
      }
      entries.push({ func: d.plain, program: d.program, ...at(plain) });
      entries.push({ func: d.ex, program: d.exProgram, ...at(ex) });
      for (const [name, s] of [[d.plain, plain] as const, [d.ex, ex] as const]) if (s && !s.emulated) plan.singleStepped.push(name);
    }
    const hs = site(HANDSHAKE.func);
    entries.push({ func: HANDSHAKE.func, program: HANDSHAKE.program, ...at(hs) });
    if (hs && !hs.emulated) plan.singleStepped.push(HANDSHAKE.func);
    plan.hooks = [...entries.map((e) => ({ ...e, retprobe: false })), ...entries.map((e) => ({ ...e, program: RETURN, retprobe: true }))];
    return plan;
  } finally {
    elf.close();
  }
}

/** The file offset of the probe on the internal function both `plain` and the thin wrapper `ex` call, if any. */
function internalSite(elf: ElfFile, plain: { vaddr: number; size: number }, ex: { vaddr: number }): number | undefined {
  const rel = thinWrapperCallee(elf.code(ex.vaddr, 64));
  if (rel === undefined) return undefined;
  const target = ex.vaddr + rel;
  const at = elf.fileOffset(target);
  const callee = entrySite(elf.code(target, 16));
  if (at === undefined || !callee.emulated) return undefined;
  if (!callsTo(elf.code(plain.vaddr, Math.min(plain.size || MAX_SCAN, MAX_SCAN)), target - plain.vaddr)) return undefined;
  return at + callee.skip;
}

/** The symbol probes, in the order of the decoded plan (an attach error names SSL_read first). */
function symbolHooks(): TlsHook[] {
  const entries = [
    ...DIRECTIONS.flatMap((d) => [
      { func: d.plain, program: d.program },
      { func: d.ex, program: d.exProgram },
    ]),
    HANDSHAKE,
  ];
  return [
    ...entries.map((e) => ({ ...e, offset: 0, retprobe: false })),
    ...entries.map((e) => ({ func: e.func, offset: 0, program: RETURN, retprobe: true })),
  ];
}
