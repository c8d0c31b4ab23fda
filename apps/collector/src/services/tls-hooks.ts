/**
 * Which binary files carry the TLS plaintext uprobes (packages/bpf tls-probes.ts). One attachment per file,
 * identified by device + inode (never two uprobes on one function): the kernel attaches to the inode, so every
 * process mapping that file, now or later, is covered. At start: the system libssl.so.3 (pinned: a short-lived
 * curl must be covered before any scan could see it) and every node binary or libssl.so.3 that running processes
 * map (/proc/<pid>/exe, /proc/<pid>/maps). Then a bounded /proc rescan every few seconds finds files new to the
 * host (another node version, a container's libssl); a file no process maps any more is detached. Files on the
 * exclude list are never attached (the workload stays "not decoded"). Where a file's probe sites are instructions
 * the kernel single-steps (packages/bpf probe-sites.ts: a debug trap per call, ~20 µs on a KVM guest), the count
 * of such sites is a health detail (tlsSingleStepSites) and logged: the expensive path is in use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { TlsAttachment, TlsSource } from '@sextant/bpf';

export const SYSTEM_LIBSSL = '/usr/lib/x86_64-linux-gnu/libssl.so.3';
/** Executables with OpenSSL linked in whose exported SSL_* functions carry node's TLS. */
const NODE_EXE = /^(node|nodejs)$/;
const LIBSSL = /\/libssl\.so\.3$/;
/** Failures kept for the health report (the newest). */
const MAX_FAILURES = 8;
/**
 * A file whose attach failed for a reason that may pass (not one of PERMANENT_FAILURES: EMFILE, ENOMEM, EAGAIN, EBUSY …)
 * is tried again after this many scans, then after the next count, …; after the last it is left alone.
 */
const RETRY_AFTER_SCANS = [1, 2, 4, 8];
/** Failures the same file fails with again: a function or the file missing (ENOENT), not a file it can probe (EINVAL, ENOEXEC). */
const PERMANENT_FAILURES = new Set(['ENOENT', 'EINVAL', 'ENOEXEC']);

export type TlsProbeSites = 'auto' | 'symbols';

/**
 * SEXTANT_TLS_PROBE_SITES: 'auto' (default: the sites packages/bpf probe-sites.ts chooses) or 'symbols' (always the
 * SSL_* symbols, even where the kernel single-steps them: a diagnostic switch, used by the TLS cost benchmark).
 */
export function tlsProbeSitesFromEnv(env: NodeJS.ProcessEnv = process.env): TlsProbeSites {
  const r = z.enum(['auto', 'symbols']).safeParse(env.SEXTANT_TLS_PROBE_SITES || 'auto');
  if (!r.success) throw new Error(`SEXTANT_TLS_PROBE_SITES must be auto or symbols, not ${JSON.stringify(env.SEXTANT_TLS_PROBE_SITES)}`);
  return r.data;
}

export interface TlsAttacher {
  attachFile(path: string, source: TlsSource, sites?: TlsProbeSites): TlsAttachment;
  detach(a: TlsAttachment): void;
}

export interface TlsHooksOptions {
  /** Binary paths never attached (as the processes see them, or resolved on this host). */
  exclude?: readonly string[];
  /** Where the probes go (default: SEXTANT_TLS_PROBE_SITES, else 'auto'). */
  probeSites?: TlsProbeSites;
  /** /proc (tests may point elsewhere only to read; attaching needs the real one). */
  procRoot?: string;
  log?: (msg: string) => void;
}

interface Attached {
  attachment: TlsAttachment;
  /** Processes that mapped the file at the last scan; the pinned system libssl is kept at 0. */
  pids: Set<number>;
  pinned: boolean;
}

export interface TlsHooksStats {
  attachedFiles: number;
  /** Attach attempts that failed, and the newest failures' file and reason. */
  attachFailures: number;
  failures: { path: string; reason: string }[];
  /** Files skipped because they are on the exclude list. */
  excludedFiles: number;
  /** Files whose attach failed for a reason that may pass, waiting for another attempt at a later scan. */
  attachRetrying: number;
  /** Probe sites the kernel single-steps, over the attached files (0: every hit is emulated). */
  singleStepSites: number;
  scans: number;
  lastScanMs: number;
}

/** A file a process uses: where to open it from, where it lives as that process sees it, and what it is. */
interface Candidate {
  openPath: string;
  shownPath: string;
  source: TlsSource;
}

/** A file's failed attach, tried again at a later scan: how many attempts so far, at which scan the next. */
interface Retry {
  attempts: number;
  atScan: number;
  /** The pinned system libssl (no process needs to map it): tried again by the scan itself. */
  pinned: Candidate | null;
}

export class TlsHooks {
  private readonly attached = new Map<string, Attached>();
  /** dev:ino of files that cannot be attached (no SSL_* symbols, not ELF …; or retried in vain) or are excluded: left alone. */
  private readonly refused = new Set<string>();
  /** dev:ino of files whose attach failed for a reason that may pass (bounded attempts, RETRY_AFTER_SCANS). */
  private readonly retry = new Map<string, Retry>();
  /** Files waiting for a retry that a process of this scan maps (the others are forgotten at its end). */
  private readonly retrySeen = new Set<string>();
  /** This process's mount namespace: a process in another one (a container, `unshare -m`) sees other files at the same paths. */
  private readonly mountNs: string;
  private readonly excluded = new Set<string>();
  private readonly exclude: Set<string>;
  private readonly procRoot: string;
  private readonly probeSites: TlsProbeSites;
  private readonly log: (msg: string) => void;
  private readonly stat: Omit<TlsHooksStats, 'attachRetrying'> = {
    attachedFiles: 0,
    attachFailures: 0,
    failures: [],
    excludedFiles: 0,
    singleStepSites: 0,
    scans: 0,
    lastScanMs: 0,
  };

  constructor(
    private readonly probes: TlsAttacher,
    opts: TlsHooksOptions = {},
  ) {
    this.exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));
    this.procRoot = opts.procRoot ?? '/proc';
    this.probeSites = opts.probeSites ?? tlsProbeSitesFromEnv();
    this.mountNs = readlinkOr(`${this.procRoot}/self/ns/mnt`, '');
    this.log = opts.log ?? (() => undefined);
  }

  /** Attaches the system libssl (pinned) and scans the running processes. */
  start(): void {
    if (fs.existsSync(SYSTEM_LIBSSL)) this.consider({ openPath: SYSTEM_LIBSSL, shownPath: SYSTEM_LIBSSL, source: 'openssl' }, null, true);
    this.scan();
  }

  /** One pass over /proc: attach files new to the host, detach those no process maps any more. */
  scan(): void {
    const t0 = performance.now();
    const seen = new Map<string, Set<number>>();
    let pids: string[] = [];
    try {
      pids = fs.readdirSync(this.procRoot).filter((d) => /^\d+$/.test(d));
    } catch {
      return;
    }
    this.retrySeen.clear();
    for (const r of [...this.retry.values()]) if (r.pinned) this.consider(r.pinned, null, true);
    for (const p of pids) {
      const pid = Number(p);
      for (const c of this.candidates(pid)) {
        const key = this.consider(c, pid, false);
        if (key) (seen.get(key) ?? seen.set(key, new Set()).get(key)!).add(pid);
      }
    }
    for (const [key, a] of this.attached) {
      a.pids = seen.get(key) ?? new Set();
      if (a.pids.size === 0 && !a.pinned) {
        this.probes.detach(a.attachment);
        this.attached.delete(key);
        this.log(`TLS uprobes detached from ${a.attachment.path} (no process maps it)`);
      }
    }
    for (const [key, r] of this.retry) if (!r.pinned && !this.retrySeen.has(key)) this.retry.delete(key); // no process maps it now
    this.stat.scans++;
    this.stat.lastScanMs = Math.round((performance.now() - t0) * 10) / 10;
  }

  /** The node executable and libssl.so.3 copies one process maps (none when it is gone or a kernel thread). */
  private candidates(pid: number): Candidate[] {
    const base = `${this.procRoot}/${pid}`;
    const out: Candidate[] = [];
    let root = '/';
    try {
      root = fs.readlinkSync(`${base}/root`);
    } catch {
      return out;
    }
    // Through /proc/<pid>/root when the process sees another file tree: a chroot, or its own mount namespace
    // (a container's image; the path may not exist at all here).
    const ownTree = root === '/' && readlinkOr(`${base}/ns/mnt`, this.mountNs) === this.mountNs;
    const open = (p: string) => (ownTree ? p : `${base}/root${p}`);
    try {
      const exe = fs.readlinkSync(`${base}/exe`).replace(/ \(deleted\)$/, '');
      if (NODE_EXE.test(path.basename(exe))) out.push({ openPath: open(exe), shownPath: exe, source: 'node' });
    } catch {
      return out; // a kernel thread, or gone
    }
    let maps = '';
    try {
      maps = fs.readFileSync(`${base}/maps`, 'latin1');
    } catch {
      return out;
    }
    const libs = new Set<string>();
    for (const line of maps.split('\n')) {
      const at = line.indexOf('/');
      if (at < 0) continue;
      const file = line.slice(at);
      if (LIBSSL.test(file)) libs.add(file);
    }
    for (const lib of libs) out.push({ openPath: open(lib), shownPath: lib, source: 'openssl' });
    return out;
  }

  /** Attaches a file unless it is attached, refused or excluded; returns its dev:ino key when it is attached. */
  private consider(c: Candidate, pid: number | null, pinned: boolean): string | undefined {
    let key: string;
    try {
      const st = fs.statSync(c.openPath);
      key = `${st.dev}:${st.ino}`;
    } catch {
      return undefined; // gone meanwhile
    }
    if (this.attached.has(key)) return key;
    if (this.refused.has(key)) return undefined;
    const retry = this.retry.get(key);
    if (retry) {
      this.retrySeen.add(key);
      if (this.stat.scans < retry.atScan) return undefined; // its next attempt is at a later scan
    }
    if (this.isExcluded(c)) {
      this.refused.add(key);
      this.excluded.add(key);
      this.stat.excludedFiles = this.excluded.size;
      this.log(`TLS uprobes: ${c.shownPath} excluded (SEXTANT_TLS_EXCLUDE)`);
      return undefined;
    }
    try {
      const attachment = this.probes.attachFile(c.openPath, c.source, this.probeSites);
      this.attached.set(key, { attachment: { ...attachment, path: c.shownPath }, pids: new Set(pid === null ? [] : [pid]), pinned });
      this.retry.delete(key);
      this.log(`TLS uprobes attached to ${c.shownPath} (${c.source}${pid === null ? '' : `, seen in pid ${pid}`})${sitesNote(attachment)}`);
      return key;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const attempts = (retry?.attempts ?? 0) + 1;
      const after = typeof code === 'string' && PERMANENT_FAILURES.has(code) ? undefined : RETRY_AFTER_SCANS[attempts - 1];
      if (after === undefined) {
        this.retry.delete(key);
        this.refused.add(key);
      } else {
        this.retry.set(key, { attempts, atScan: this.stat.scans + after, pinned: pinned ? c : null });
        this.retrySeen.add(key);
      }
      this.stat.attachFailures++;
      this.stat.failures = [...this.stat.failures, { path: c.shownPath, reason: (err as Error).message }].slice(-MAX_FAILURES);
      const next = after === undefined ? '' : ` (attempt ${attempts}: again in ${after} scan${after === 1 ? '' : 's'})`;
      this.log(`TLS uprobes not attached to ${c.shownPath}: ${(err as Error).message}${next}`);
      return undefined;
    }
  }

  private isExcluded(c: Candidate): boolean {
    if (this.exclude.has(c.shownPath) || this.exclude.has(c.openPath)) return true;
    try {
      return this.exclude.has(fs.realpathSync(c.openPath));
    } catch {
      return false;
    }
  }

  /** The paths of the files attached now (as the processes see them). */
  attachedFiles(): string[] {
    return [...this.attached.values()].map((a) => a.attachment.path);
  }

  /** The files attached now (as the processes see them), their source and where they are probed. */
  files(): {
    path: string;
    source: TlsSource;
    pinned: boolean;
    processes: number;
    internal: readonly string[];
    singleStepped: readonly string[];
  }[] {
    return [...this.attached.values()].map((a) => ({
      path: a.attachment.path,
      source: a.attachment.source,
      pinned: a.pinned,
      processes: a.pids.size,
      internal: a.attachment.internal,
      singleStepped: a.attachment.singleStepped,
    }));
  }

  get stats(): TlsHooksStats {
    let singleStepSites = 0;
    for (const a of this.attached.values()) singleStepSites += a.attachment.singleStepped.length;
    return {
      ...this.stat,
      attachedFiles: this.attached.size,
      attachRetrying: this.retry.size,
      singleStepSites,
      failures: [...this.stat.failures],
    };
  }

  /** Detaches every file (the probes' close() does too). */
  stop(): void {
    for (const a of this.attached.values()) this.probes.detach(a.attachment);
    this.attached.clear();
  }
}

/** Where a file's probes went, for the attach log line. */
function sitesNote(a: TlsAttachment): string {
  const internal = a.internal.length ? `; ${a.internal.join('/')} probed at OpenSSL's internal functions` : '';
  const stepped = a.singleStepped.length
    ? `; ${a.singleStepped.length} probe sites single-stepped by the kernel (${a.singleStepped.join(', ')}): a debug trap per call, costly`
    : '';
  return internal + stepped + (a.undecoded ? `; code not decoded (${a.undecoded})` : '');
}

/**
 * The health report's TLS details: files attached, attach failures (the newest one's file and reason), probe sites
 * single-stepped, plaintext not paired.
 */
export function tlsHealthDetails(s: TlsHooksStats, unpaired: number): Record<string, number | string> {
  const last = s.failures.at(-1);
  return {
    tlsAttachedFiles: s.attachedFiles,
    tlsAttachFailures: s.attachFailures,
    tlsLastAttachFailure: last ? `${last.path}: ${last.reason}`.slice(0, 1024) : '',
    tlsExcludedFiles: s.excludedFiles,
    tlsAttachRetrying: s.attachRetrying,
    tlsSingleStepSites: s.singleStepSites,
    tlsUnpaired: unpaired,
  };
}

/** A symbolic link's target, or `fallback` when it cannot be read (gone, not permitted). */
function readlinkOr(p: string, fallback: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return fallback;
  }
}
