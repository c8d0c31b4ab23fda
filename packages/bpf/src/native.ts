/**
 * Loads the libbpf N-API addon and turns its -errno results into typed BpfErrors. The addon is thin: all
 * decisions (what to attach, how to read maps) are made here and in probes.ts.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

// Found through module resolution, so that it holds from the sources and from the collector's bundle alike.
export const PACKAGE_ROOT = path.dirname(createRequire(import.meta.url).resolve('@sextant/bpf/package.json'));
export const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'sextant_bpf.node');
export const OBJECT_PATH = path.join(PACKAGE_ROOT, 'build', 'bpf', 'sextant.bpf.o');

export class BpfError extends Error {
  readonly code: string;
  constructor(
    readonly operation: string,
    readonly errno: number,
  ) {
    const code = Object.entries(os.constants.errno).find(([, v]) => v === errno)?.[0] ?? `E${errno}`;
    super(`${operation} failed: ${code} (errno ${errno})`);
    this.name = 'BpfError';
    this.code = code;
  }
}

export interface MapInfo {
  fd: number;
  keySize: number;
  valueSize: number;
  type: number;
  maxEntries: number;
}

export interface NativeAddon {
  open(path: string): number;
  setGlobal(handle: number, name: string, value: Buffer): number;
  setMaxEntries(handle: number, map: string, entries: number): number;
  load(handle: number): number;
  attachTracepoints(handle: number): number;
  attachCgroup(handle: number, program: string, cgroupPath: string): number;
  /** Detaches the tracepoint and cgroup programs (not the uprobes); returns how many links, or -errno. */
  detachPrograms(handle: number): number;
  /** A link id (> 0), or -errno. At funcName plus offset bytes, or (funcName '') at file offset `offset`. */
  attachUprobe(
    handle: number,
    program: string,
    binaryPath: string,
    funcName: string,
    retprobe: boolean,
    cookie?: number,
    offset?: number,
  ): number;
  detachLink(handle: number, linkId: number): number;
  runProgram(handle: number, program: string): number;
  mapInfo(handle: number, name: string): MapInfo | number;
  numPossibleCpus(): number;
  /**
   * Whether the kernel's BTF has a type of BTF kind `kind` (BTF_KIND_*) by each of `names`, or -errno when the
   * kernel has no BTF (libbpf's btf__load_vmlinux_btf; parsed in native memory and freed before returning).
   */
  btfHasTypes(names: string[], kind: number): boolean[] | number;
  mapLookup(fd: number, key: Buffer, valueSize: number, andDelete?: boolean): Buffer | null | number;
  mapNextKey(fd: number, key: Buffer | null, keySize: number): Buffer | null | number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): number;
  mapDelete(fd: number, key: Buffer): number;
  ringbufStart(handle: number, map: string, cb: (records: Buffer, count: number) => void, maxQueue?: number): number;
  ringbufStats(handle: number, map?: string): { delivered: number; droppedBatches: number; droppedRecords: number };
  setAutoload(handle: number, program: string, on: boolean): number;
  programNames(handle: number): string[];
  close(handle: number): number;
}

/** BTF_KIND_TYPEDEF of linux/btf.h: a raw tracepoint's type in the kernel's BTF is the typedef btf_trace_<name>. */
export const BTF_KIND_TYPEDEF = 8;

let cached: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The addon, or null with a reason from {@link addonUnavailableReason}. */
export function loadAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  const marker = path.join(PACKAGE_ROOT, 'build', 'UNAVAILABLE');
  if (fs.existsSync(marker)) {
    loadError = `addon not built: ${fs.readFileSync(marker, 'utf8').trim()}`;
    return (cached = null);
  }
  try {
    cached = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  } catch (err) {
    loadError = `addon not built or not loadable (${(err as Error).message.split('\n')[0]}); run: npm rebuild @sextant/bpf`;
    cached = null;
  }
  return cached;
}

export function addonUnavailableReason(): string | undefined {
  loadAddon();
  return loadError;
}

/** Throws a BpfError for a negative result, passes others through. */
export function check<T>(operation: string, result: T | number): T {
  if (typeof result === 'number' && result < 0) throw new BpfError(operation, -result);
  return result as T;
}

/** A little-endian u32 map key. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
