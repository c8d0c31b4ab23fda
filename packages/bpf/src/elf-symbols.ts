/**
 * Just enough of an ELF64 little-endian file to place uprobes: the defined function symbols (.dynsym, then
 * .symtab), the file offset of a virtual address (through the PT_LOAD segments), and the bytes of the code at
 * an address. Reads with positional reads (a node binary is ~100 MB; its symbol tables are a few MB).
 */
import fs from 'node:fs';

const ET_HDR = 64;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const STT_FUNC = 2;
export const EM_X86_64 = 62;

export interface ElfFunction {
  name: string;
  /** Virtual address (st_value) and size (st_size). */
  vaddr: number;
  size: number;
  /** Where its first byte is in the file: what a uprobe is attached at. */
  fileOffset: number;
}

interface Segment {
  vaddr: number;
  offset: number;
  filesz: number;
}

export class ElfFile {
  private constructor(
    private readonly fd: number,
    readonly machine: number,
    private readonly segments: Segment[],
    private readonly functions: Map<string, { vaddr: number; size: number }>,
  ) {}

  /**
   * Opens `path` and reads the named function symbols. Throws when the file is not a 64-bit little-endian ELF
   * file; names not found are simply absent.
   */
  static open(path: string, names: readonly string[]): ElfFile {
    const fd = fs.openSync(path, 'r');
    try {
      const h = readAt(fd, 0, ET_HDR);
      if (h.length < ET_HDR || h.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
      if (h[4] !== 2 || h[5] !== 1) throw new Error(`${path}: not a 64-bit little-endian ELF file`);
      const machine = h.readUInt16LE(18);
      const phoff = num(h.readBigUInt64LE(32));
      const shoff = num(h.readBigUInt64LE(40));
      const [phentsize, phnum, shentsize, shnum] = [54, 56, 58, 60].map((o) => h.readUInt16LE(o)) as [number, number, number, number];
      const segments: Segment[] = [];
      const ph = readAt(fd, phoff, phentsize * phnum);
      for (let i = 0; i + 1 <= phnum && (i + 1) * phentsize <= ph.length; i++) {
        const p = ph.subarray(i * phentsize);
        if (p.readUInt32LE(0) !== PT_LOAD) continue;
        segments.push({ offset: num(p.readBigUInt64LE(8)), vaddr: num(p.readBigUInt64LE(16)), filesz: num(p.readBigUInt64LE(32)) });
      }
      const functions = new Map<string, { vaddr: number; size: number }>();
      const sh = readAt(fd, shoff, shentsize * shnum);
      const section = (i: number) => {
        const s = sh.subarray(i * shentsize);
        return { type: s.readUInt32LE(4), offset: num(s.readBigUInt64LE(24)), size: num(s.readBigUInt64LE(32)), link: s.readUInt32LE(40) };
      };
      const wanted = new Set(names);
      // .dynsym first (what other processes link against), then .symtab for what it lacks.
      for (const type of [SHT_DYNSYM, SHT_SYMTAB]) {
        if (names.every((n) => functions.has(n))) break;
        for (let i = 0; i < shnum && (i + 1) * shentsize <= sh.length; i++) {
          const s = section(i);
          if (s.type !== type || s.link >= shnum) continue;
          const str = section(s.link);
          readFunctions(readAt(fd, s.offset, s.size), readAt(fd, str.offset, str.size), wanted, functions);
        }
      }
      return new ElfFile(fd, machine, segments, functions);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** A defined function symbol, with its file offset; undefined when absent or outside the file's segments. */
  fn(name: string): ElfFunction | undefined {
    const f = this.functions.get(name);
    if (!f) return undefined;
    const fileOffset = this.fileOffset(f.vaddr);
    return fileOffset === undefined ? undefined : { name, ...f, fileOffset };
  }

  /** The file offset of a virtual address inside a loaded segment. */
  fileOffset(vaddr: number): number | undefined {
    const s = this.segments.find((g) => vaddr >= g.vaddr && vaddr < g.vaddr + g.filesz);
    return s ? vaddr - s.vaddr + s.offset : undefined;
  }

  /** Up to `len` bytes of the file from the virtual address (fewer at the end of its segment). */
  code(vaddr: number, len: number): Buffer {
    const s = this.segments.find((g) => vaddr >= g.vaddr && vaddr < g.vaddr + g.filesz);
    if (!s) return Buffer.alloc(0);
    return readAt(this.fd, vaddr - s.vaddr + s.offset, Math.min(len, s.vaddr + s.filesz - vaddr));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** The wanted names among the defined functions of a symbol table (names compared as bytes: no string per symbol). */
function readFunctions(syms: Buffer, strings: Buffer, wanted: Set<string>, out: Map<string, { vaddr: number; size: number }>): void {
  const names = [...wanted].map((n) => ({ name: n, bytes: Buffer.from(n, 'latin1') }));
  for (let o = 0; o + 24 <= syms.length; o += 24) {
    const info = syms[o + 4]!;
    const shndx = syms.readUInt16LE(o + 6);
    if ((info & 0xf) !== STT_FUNC || shndx === 0) continue;
    const at = syms.readUInt32LE(o);
    const hit = names.find(
      (n) => strings[at + n.bytes.length] === 0 && strings.compare(n.bytes, 0, n.bytes.length, at, at + n.bytes.length) === 0,
    );
    if (!hit || out.has(hit.name)) continue;
    out.set(hit.name, { vaddr: num(syms.readBigUInt64LE(o + 8)), size: num(syms.readBigUInt64LE(o + 16)) });
  }
}

function readAt(fd: number, offset: number, len: number): Buffer {
  const b = Buffer.alloc(Math.max(0, len));
  let got = 0;
  while (got < b.length) {
    const n = fs.readSync(fd, b, got, b.length - got, offset + got);
    if (n <= 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

function num(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('ELF value out of range');
  return Number(v);
}
