/**
 * Which local process listens on which TCP port. Lets the collector name the server end of a connection to
 * this host, and the server tell which service owns a port.
 *
 * The kernel programs record every listen() (map sx_listeners); at start the collector finds the listeners
 * that are older than its probes in /proc and seeds that map with them. After that a port is looked up in
 * the kernel's map, cached here, and /proc is only scanned again on a miss at most every refresh interval:
 * a scan reads /proc/net/tcp{,6}, which lists every socket of the host — TIME_WAIT ones included, megabytes
 * and ~100–300 ms on a host making tens of thousands of connections a second.
 */
import fs from 'node:fs';
import type { EndpointIdentity } from '@sextant/shared';

export interface Listener {
  family: 4 | 6;
  port: number;
  pid: number;
}

/** Where the kernel side's record of listeners is read (SextantProbes). */
export interface KernelListeners {
  listener(port: number): { pid: number } | undefined;
}

function listeningInodes(procRoot: string): Map<string, { family: 4 | 6; port: number }> {
  const inodes = new Map<string, { family: 4 | 6; port: number }>();
  for (const [file, family] of [
    ['tcp', 4],
    ['tcp6', 6],
  ] as const) {
    let text = '';
    try {
      text = fs.readFileSync(`${procRoot}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A') continue; // TCP_LISTEN
      const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
      const inode = cols[9];
      if (inode && Number.isFinite(port)) inodes.set(inode, { family, port });
    }
  }
  return inodes;
}

/** The host's TCP listeners and their processes, from /proc (socket inodes of /proc/<pid>/fd). */
export function scanListeners(procRoot = '/proc'): Listener[] {
  const inodes = listeningInodes(procRoot);
  const out: Listener[] = [];
  if (inodes.size === 0) return out;
  for (const entry of fs.readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`${procRoot}/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`${procRoot}/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      const socket = m ? inodes.get(m[1] ?? '') : undefined;
      if (socket) {
        out.push({ ...socket, pid: Number(entry) });
        inodes.delete(m![1]!); // a socket shared by forked processes: its first (lowest) pid
      }
    }
  }
  return out;
}

export class ListenerTable {
  private byPort = new Map<number, { pid: number; at: number }>();
  // The last named identity that listened on each port, kept after the listener has gone: a connect
  // refused by a service that just died is named after it, not after the bare address it shares with
  // every other local failure. One slot per port (bounded by the port space), overwritten by the port's
  // next listener; an array because it is read for every same-host connection.
  private readonly lastIdentity = new Array<EndpointIdentity | undefined>(65536);
  /** The pid each remembered identity was read from. */
  private readonly lastPid = new Int32Array(65536);
  private scannedAt = 0;
  private kernel: KernelListeners | undefined;

  constructor(private readonly refreshMs = 30_000) {}

  /** From now on, ask the kernel's record first (after seeding it with what refresh() found). */
  useKernel(kernel: KernelListeners): void {
    this.kernel = kernel;
  }

  /**
   * The pid of the local process listening on a port: cached for refreshMs, then asked again from the
   * kernel's record; /proc is rescanned on a miss at most every refreshMs.
   */
  pidOf(port: number): number | undefined {
    const now = Date.now();
    const hit = this.byPort.get(port);
    if (hit && now - hit.at < this.refreshMs) return hit.pid;
    const fromKernel = this.kernel?.listener(port);
    if (fromKernel) {
      this.byPort.set(port, { pid: fromKernel.pid, at: now });
      return fromKernel.pid;
    }
    if (now - this.scannedAt >= this.refreshMs) this.refresh();
    return this.byPort.get(port)?.pid;
  }

  /** Learns a listener from a server-side connection event (cheaper than a scan). */
  learn(port: number, pid: number): void {
    if (pid <= 0) return;
    // in place: a server's every connection is learned (an object per connection was 2 % of the allocation on `close`)
    const hit = this.byPort.get(port);
    if (hit === undefined) this.byPort.set(port, { pid, at: Date.now() });
    else {
      hit.pid = pid;
      hit.at = Date.now();
    }
  }

  /** Records who listens on a port (named: a process or a service) and its pid, for after it has gone. */
  rememberIdentity(port: number, pid: number, identity: EndpointIdentity): void {
    this.lastIdentity[port] = identity;
    this.lastPid[port] = pid;
  }

  /** The pid the port's remembered identity was read from (0: none). */
  lastPidOf(port: number): number {
    return this.lastPid[port] ?? 0;
  }

  /** The last named identity that listened on a port (possibly no longer running), or undefined. */
  lastIdentityOf(port: number): EndpointIdentity | undefined {
    return this.lastIdentity[port];
  }

  /** Rescans /proc; returns what it found (IPv4 and IPv6 listeners of a port separately). */
  refresh(): Listener[] {
    const now = Date.now();
    this.scannedAt = now;
    const found = scanListeners();
    this.byPort = new Map();
    for (const l of found) if (!this.byPort.has(l.port)) this.byPort.set(l.port, { pid: l.pid, at: now });
    return found;
  }
}
