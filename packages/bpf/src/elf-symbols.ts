/**
 * Just enough of an ELF64 little-endian file to place uprobes: the defined function symbols (.dynsym, then
 * .symtab), the file offset of a virtual address (through the PT_LOAD segments), and the bytes of the code at
 * an address. Reads with positional reads, the symbol and string tables a chunk at a time (a node binary is ~100 MB;
 * its .dynsym and .dynstr are 7 MB, which read whole stayed in the collector as array buffers and RSS).
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
  static open(path: string, names: readonly string[], chunkBytes = CHUNK): ElfFile {
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
          readFunctions(fd, s, nameOffsets(fd, str, wanted, chunkBytes), functions, chunkBytes);
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

/** Bytes read from a symbol or string table at a time: a node binary's are 2-7 MB each. */
const CHUNK = 256 * 1024;

/**
 * Where each wanted name is in a string table: every offset at which its bytes and a NUL stand (a symbol's name may
 * be the tail of a longer string, which linkers share). Read a chunk at a time, chunks overlapping by the longest
 * name, so no table is ever whole in memory.
 */
function nameOffsets(fd: number, table: { offset: number; size: number }, wanted: Set<string>, chunkBytes: number): Map<number, string> {
  const needles = [...wanted].map((name) => ({ name, bytes: Buffer.from(`${name}\0`, 'latin1') }));
  const overlap = Math.max(0, ...needles.map((n) => n.bytes.length)) - 1;
  const out = new Map<number, string>();
  const buf = Buffer.allocUnsafe(chunkBytes + overlap);
  for (let start = 0; start < table.size; start += chunkBytes) {
    const want = Math.min(chunkBytes + overlap, table.size - start);
    const chunk = readInto(fd, buf, table.offset + start, want);
    for (const n of needles)
      for (let i = chunk.indexOf(n.bytes); i >= 0 && i < chunkBytes; i = chunk.indexOf(n.bytes, i + 1)) out.set(start + i, n.name);
    if (chunk.length < want) break;
  }
  return out;
}

/** The defined functions of a symbol table whose name is at one of `names`' offsets, a chunk of symbols at a time. */
function readFunctions(
  fd: number,
  table: { offset: number; size: number },
  names: Map<number, string>,
  out: Map<string, { vaddr: number; size: number }>,
  chunkBytes: number,
): void {
  if (names.size === 0) return;
  const perChunk = Math.max(1, Math.floor(chunkBytes / 24)) * 24;
  const buf = Buffer.allocUnsafe(perChunk);
  for (let start = 0; start < table.size; start += perChunk) {
    const syms = readInto(fd, buf, table.offset + start, Math.min(perChunk, table.size - start));
    for (let o = 0; o + 24 <= syms.length; o += 24) {
      const info = syms[o + 4]!;
      const shndx = syms.readUInt16LE(o + 6);
      if ((info & 0xf) !== STT_FUNC || shndx === 0) continue;
      const name = names.get(syms.readUInt32LE(o));
      if (name === undefined || out.has(name)) continue;
      out.set(name, { vaddr: num(syms.readBigUInt64LE(o + 8)), size: num(syms.readBigUInt64LE(o + 16)) });
    }
    if (syms.length < Math.min(perChunk, table.size - start)) break;
  }
}

function readAt(fd: number, offset: number, len: number): Buffer {
  return readInto(fd, Buffer.alloc(Math.max(0, len)), offset, len);
}

/** Up to `len` bytes from `offset` into the start of `b` (fewer at the end of the file): the part read. */
function readInto(fd: number, b: Buffer, offset: number, len: number): Buffer {
  const want = Math.max(0, Math.min(len, b.length));
  let got = 0;
  while (got < want) {
    const n = fs.readSync(fd, b, got, want - got, offset + got);
    if (n <= 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

function num(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('ELF value out of range');
  return Number(v);
}
