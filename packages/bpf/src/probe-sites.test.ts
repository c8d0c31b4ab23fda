/**
 * Probe-site selection for the TLS uprobes (probe-sites.ts) on the real files of this host (Debian's libssl.so.3,
 * the node binary) and on shared objects compiled here from assembly with the shapes that must and must not be
 * taken for OpenSSL's thin wrappers. No kernel needed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ElfFile } from './elf-symbols';
import { callsTo, decodeInsn, entrySite, kernelEmulates, planTlsSites, thinWrapperCallee } from './probe-sites';

const LIBSSL = '/usr/lib/x86_64-linux-gnu/libssl.so.3';
const NODE = fs.realpathSync(process.execPath);
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const FUNCS = ['SSL_read', 'SSL_read_ex', 'SSL_write', 'SSL_write_ex', 'SSL_do_handshake'];

describe('x86-64 first instructions', () => {
  it('decodes what the kernel emulates, and nothing else as such', () => {
    const cases: [string, string, boolean][] = [
      ['55', 'push', true], // push %rbp
      ['53', 'push', true],
      ['41 55', 'push', true], // push %r13 (REX 0x41, the one prefix the kernel accepts)
      ['40 55', 'other', false], // push %rbp with an empty REX: single-stepped
      ['90', 'nop', true],
      ['e8 10 00 00 00', 'call', true],
      ['e9 00 01 00 00', 'jmp', true],
      ['eb fe', 'jmp', true],
      ['74 05', 'jcc', true],
      ['0f 84 00 01 00 00', 'jcc', true],
      ['48 83 ec 18', 'other', false], // sub $0x18,%rsp: Debian's SSL_read
      ['48 89 e5', 'other', false], // mov %rsp,%rbp
      ['f3 0f 1e fa', 'endbr64', false],
      ['e8 10 00', 'other', false], // truncated
      ['', 'other', false],
    ];
    expect(cases.map(([b]) => [decodeInsn(hex(b)).kind, kernelEmulates(decodeInsn(hex(b)))])).toEqual(cases.map(([, k, e]) => [k, e]));
    expect(decodeInsn(hex('e8 10 00 00 00')).rel).toBe(0x15);
    expect(decodeInsn(hex('eb fe')).rel).toBe(0);
    expect(decodeInsn(hex('0f 84 00 01 00 00')).rel).toBe(0x106);
  });

  it('steps over endbr64 when the next instruction is emulated', () => {
    expect(entrySite(hex('f3 0f 1e fa 55'))).toEqual({ skip: 4, emulated: true });
    expect(entrySite(hex('f3 0f 1e fa 48 83 ec 08'))).toEqual({ skip: 0, emulated: false });
    expect(entrySite(hex('41 56 41 55'))).toEqual({ skip: 0, emulated: true });
  });

  it('recognises the thin wrapper shape only', () => {
    // Debian's SSL_read_ex: sub $8,%rsp; call -0x239; the result clamped at 0, scratch registers cleared; ret.
    const debian = hex('48 83 ec 08 e8 c7 fd ff ff 31 d2 85 c0 0f 48 c2 48 83 c4 08 31 d2 31 c9 31 f6 31 ff c3');
    expect(thinWrapperCallee(debian)).toBe(9 - 0x239);
    expect(thinWrapperCallee(Buffer.concat([hex('f3 0f 1e fa'), debian]))).toBe(4 + 9 - 0x239);
    expect(thinWrapperCallee(hex('48 83 ec 08 49 89 c8 e8 00 00 00 00 48 83 c4 08 c3'))).toBeUndefined(); // moves an argument first
    expect(thinWrapperCallee(hex('48 83 ec 18 e8 c7 fd ff ff 48 83 c4 18 c3'))).toBeUndefined();
    expect(thinWrapperCallee(hex('48 83 ec 08 e8 c7 fd ff ff e8 00 00 00 00 48 83 c4 08 c3'))).toBeUndefined(); // a second call
    expect(thinWrapperCallee(hex('48 83 ec 08 e8 c7 fd ff ff 48 83 c4 08'))).toBeUndefined(); // no ret in reach
    expect(callsTo(hex('48 83 ec 18 e8 0b 00 00 00 c3'), 0x14)).toBe(true);
    expect(callsTo(hex('48 83 ec 18 e8 0b 00 00 00 c3'), 0x15)).toBe(false);
  });
});

describe.skipIf(!fs.existsSync(LIBSSL))("this host's files", () => {
  it('reads the functions of a symbol table a chunk at a time: the same as nm, whatever the chunk size', () => {
    // nm -D -S --defined-only: "value size type name" of the exported symbols (T: in the code section)
    const truth = (file: string) => {
      const out: Record<string, [number, number]> = {};
      const nm = execFileSync('nm', ['-D', '-S', '--defined-only', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      for (const line of nm.split('\n')) {
        const [value, size, type, versioned] = line.trim().split(/\s+/);
        const name = versioned?.replace(/@.*$/, '');
        if (type === 'T' && name && FUNCS.includes(name) && !out[name]) out[name] = [parseInt(value!, 16), parseInt(size!, 16)];
      }
      return out;
    };
    for (const [file, chunks] of [
      [LIBSSL, [64, 100, 4096, undefined]],
      [NODE, [1000, undefined]],
    ] as const) {
      const want = truth(file);
      expect(Object.keys(want).sort()).toEqual([...FUNCS].sort());
      for (const chunk of chunks) {
        const elf = ElfFile.open(file, FUNCS, chunk);
        try {
          const got = Object.fromEntries(FUNCS.map((n) => [n, [elf.fn(n)?.vaddr, elf.fn(n)?.size]]));
          expect(got, `${file}, chunks of ${chunk ?? 'default'} bytes`).toEqual(want);
        } finally {
          elf.close();
        }
      }
    }
  });

  it('libssl.so.3: SSL_read/SSL_write would be single-stepped; probes go on the internal functions they and the _ex wrappers call', () => {
    const elf = ElfFile.open(LIBSSL, FUNCS);
    try {
      const f = (n: string) => elf.fn(n)!;
      expect(FUNCS.map((n) => entrySite(elf.code(f(n).vaddr, 16)).emulated)).toEqual([false, false, false, false, true]);
      const plan = planTlsSites(LIBSSL);
      expect([plan.internal, plan.singleStepped, plan.undecoded]).toEqual([['read', 'write'], [], undefined]);
      const internal = (ex: string) => f(ex).vaddr + thinWrapperCallee(elf.code(f(ex).vaddr, 64))!;
      const [read, write] = [internal('SSL_read_ex'), internal('SSL_write_ex')];
      // Both internals begin with a push of r13 / r14 (41 55 / 41 56), and SSL_read / SSL_write call them.
      expect([elf.code(read, 2).toString('hex'), elf.code(write, 2).toString('hex')]).toEqual(['4155', '4156']);
      expect(callsTo(elf.code(f('SSL_read').vaddr, f('SSL_read').size), read - f('SSL_read').vaddr)).toBe(true);
      expect(callsTo(elf.code(f('SSL_write').vaddr, f('SSL_write').size), write - f('SSL_write').vaddr)).toBe(true);
      const at = (v: number) => elf.fileOffset(v)!;
      expect(plan.hooks.map((h) => [h.program, h.retprobe, h.func, h.offset])).toEqual([
        ['sx_tls_read_ex_entry', false, '', at(read)],
        ['sx_tls_write_ex_entry', false, '', at(write)],
        ['sx_tls_handshake_entry', false, 'SSL_do_handshake', 0],
        ['sx_tls_return', true, '', at(read)],
        ['sx_tls_return', true, '', at(write)],
        ['sx_tls_return', true, 'SSL_do_handshake', 0],
      ]);
      // Attached by file offset (libbpf does not look the symbols up again): the internal site's, or the symbol's + skip.
      expect(plan.hooks.map((h) => h.fileOffset)).toEqual([
        at(read),
        at(write),
        f('SSL_do_handshake').fileOffset,
        at(read),
        at(write),
        f('SSL_do_handshake').fileOffset,
      ]);
    } finally {
      elf.close();
    }
  });

  it("libssl.so.3 with mode 'symbols': the symbols as before, the four single-stepped ones named", () => {
    const plan = planTlsSites(LIBSSL, 'symbols');
    expect([plan.internal, plan.singleStepped]).toEqual([[], ['SSL_read', 'SSL_read_ex', 'SSL_write', 'SSL_write_ex']]);
    expect(plan.hooks.filter((h) => !h.retprobe).map((h) => [h.func, h.offset])).toEqual(FUNCS.map((n) => [n, 0]));
  });

  it('node: every entry is a push (emulated): the symbols, as before', () => {
    const plan = planTlsSites(NODE);
    expect([plan.internal, plan.singleStepped, plan.undecoded]).toEqual([[], [], undefined]);
    expect(plan.hooks.filter((h) => !h.retprobe).map((h) => [h.func, h.offset])).toEqual(FUNCS.map((n) => [n, 0]));
    expect(plan.hooks.filter((h) => h.retprobe).map((h) => h.func)).toEqual(FUNCS);
    const elf = ElfFile.open(NODE, FUNCS);
    const offsets = FUNCS.map((n) => elf.fn(n)!.fileOffset);
    elf.close();
    expect(plan.hooks.map((h) => h.fileOffset)).toEqual([...offsets, ...offsets]);
  });

  it('a file that is not ELF: the symbols, undecoded with the reason', () => {
    const plan = planTlsSites('/etc/hostname');
    expect(plan.undecoded).toMatch(/not an ELF file/);
    expect(plan.hooks.filter((h) => !h.retprobe).map((h) => h.func)).toEqual(FUNCS);
    expect(plan.hooks.every((h) => h.fileOffset === undefined)).toBe(true);
  });
});

const hasCc = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-sites-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A shared object of functions with the given bodies (assembly): SSL_* exported, the others local (direct calls). */
function sharedObject(name: string, bodies: Record<string, string>): string {
  const asm = Object.entries(bodies)
    .map(([fn, body]) => `${fn.startsWith('SSL_') ? `.globl ${fn}\n` : ''}.type ${fn},@function\n${fn}:\n${body}\n.size ${fn}, .-${fn}\n`)
    .join('');
  const src = path.join(tmp, `${name}.s`);
  fs.writeFileSync(src, `.text\n${asm}`);
  const out = path.join(tmp, `${name}.so`);
  execFileSync('cc', ['-shared', '-nostdlib', '-o', out, src]);
  return out;
}

const INTERNALS = {
  read_internal: 'push %r13\n mov $1,%eax\n pop %r13\n ret',
  write_internal: 'push %r14\n mov $1,%eax\n pop %r14\n ret',
};
const WRAPPER = (callee: string) => `sub $8,%rsp\n call ${callee}\n add $8,%rsp\n ret`;
const PLAIN = (callee: string) => `sub $0x18,%rsp\n call ${callee}\n add $0x18,%rsp\n ret`;

describe.skipIf(!hasCc)('compiled shapes', () => {
  it("OpenSSL's shape: the internal functions, by file offset", () => {
    const so = sharedObject('wrappers', {
      ...INTERNALS,
      SSL_read: PLAIN('read_internal'),
      SSL_read_ex: WRAPPER('read_internal'),
      SSL_write: PLAIN('write_internal'),
      SSL_write_ex: WRAPPER('write_internal'),
      SSL_do_handshake: 'push %rbx\n pop %rbx\n ret',
    });
    const plan = planTlsSites(so);
    expect([plan.internal, plan.singleStepped]).toEqual([['read', 'write'], []]);
    const elf = ElfFile.open(so, ['read_internal', 'write_internal']);
    const [r, w] = ['read_internal', 'write_internal'].map((n) => elf.fn(n)!.fileOffset);
    elf.close();
    expect(plan.hooks.filter((h) => h.func === '').map((h) => [h.program, h.offset])).toEqual([
      ['sx_tls_read_ex_entry', r],
      ['sx_tls_write_ex_entry', w],
      ['sx_tls_return', r],
      ['sx_tls_return', w],
    ]);
  });

  it('an _ex that moves an argument first, or SSL_read calling another function: the symbols, single-stepped sites named', () => {
    const so = sharedObject('other', {
      ...INTERNALS,
      SSL_read: PLAIN('write_internal'), // not the function SSL_read_ex wraps
      SSL_read_ex: WRAPPER('read_internal'),
      SSL_write: PLAIN('write_internal'),
      SSL_write_ex: `sub $8,%rsp\n mov %rcx,%r8\n call write_internal\n add $8,%rsp\n ret`,
      SSL_do_handshake: 'sub $8,%rsp\n add $8,%rsp\n ret',
    });
    const plan = planTlsSites(so);
    expect([plan.internal, plan.singleStepped, plan.undecoded]).toEqual([
      [],
      ['SSL_read', 'SSL_read_ex', 'SSL_write', 'SSL_write_ex', 'SSL_do_handshake'],
      undefined,
    ]);
    expect(plan.hooks.filter((h) => !h.retprobe).map((h) => [h.func, h.offset])).toEqual(FUNCS.map((n) => [n, 0]));
  });

  it('endbr64 first: the probe goes on the instruction after it', () => {
    const so = sharedObject('cet', {
      ...INTERNALS,
      SSL_read: 'endbr64\n push %rbp\n pop %rbp\n ret',
      SSL_read_ex: 'endbr64\n push %rbp\n pop %rbp\n ret',
      SSL_write: 'endbr64\n push %rbp\n pop %rbp\n ret',
      SSL_write_ex: 'endbr64\n push %rbp\n pop %rbp\n ret',
      SSL_do_handshake: 'endbr64\n sub $8,%rsp\n add $8,%rsp\n ret',
    });
    const plan = planTlsSites(so);
    expect([plan.internal, plan.singleStepped]).toEqual([[], ['SSL_do_handshake']]);
    expect(plan.hooks.filter((h) => !h.retprobe).map((h) => [h.func, h.offset])).toEqual(
      FUNCS.map((n) => [n, n === 'SSL_do_handshake' ? 0 : 4]),
    );
    const elf = ElfFile.open(so, FUNCS);
    const offsets = FUNCS.map((n) => elf.fn(n)!.fileOffset + (n === 'SSL_do_handshake' ? 0 : 4));
    elf.close();
    expect(plan.hooks.map((h) => h.fileOffset)).toEqual([...offsets, ...offsets]);
  });
});
