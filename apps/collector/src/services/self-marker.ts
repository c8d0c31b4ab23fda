/**
 * Which local processes are Sextant itself, so that its own traffic (browser ↔ web/API server, server ↔
 * PostgreSQL, collector → server) can be hidden on the map and in flows by default. A process is Sextant's:
 *  - the collector's own pid;
 *  - a process listening on a Sextant port: the server URL's port when the server runs on this host, and the
 *    ports in SEXTANT_SELF_PORTS (`npm start` passes the web server's and the embedded PostgreSQL's);
 *  - a descendant of a pid in SEXTANT_SELF_PIDS (`npm start` passes its own: the web server, PostgreSQL and
 *    its backends, and the collector are all its children).
 * Checked once per process identity (the resolver caches those for 10 s), never per connection.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SelfOptions {
  ownPid: number;
  /** Processes whose descendants (and themselves) are Sextant's. */
  rootPids?: readonly number[];
  /** Local ports whose listener is Sextant's. */
  ports?: readonly number[];
  /** The pid listening on a local port (the collector's listener table). */
  listenerPid?: (port: number) => number | undefined;
  procRoot?: string;
}

/** The parent pid from /proc/PID/stat (the field after the state, past the parenthesised comm). */
export function parentPid(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  return Number.isInteger(ppid) && ppid >= 0 ? ppid : undefined;
}

/** The server URL's port when its host is this host (loopback, a local address or this hostname), else null. */
export function localServerPort(serverUrl: string): number | null {
  let u: URL;
  try {
    u = new URL(serverUrl);
  } catch {
    return null;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const local = new Set(['localhost', '::1', os.hostname().toLowerCase()]);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) local.add(a.address.toLowerCase());
  if (!local.has(host) && !host.startsWith('127.')) return null;
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

export class SelfMarker {
  private readonly roots: Set<number>;
  private readonly ports: readonly number[];
  private readonly procRoot: string;

  constructor(private readonly opts: SelfOptions) {
    // pid 1 (and 0) would make every process Sextant's: never a root.
    this.roots = new Set((opts.rootPids ?? []).filter((p) => p > 1));
    this.ports = opts.ports ?? [];
    this.procRoot = opts.procRoot ?? '/proc';
  }

  isSelf(pid: number): boolean {
    if (pid <= 1) return false;
    if (pid === this.opts.ownPid || this.roots.has(pid)) return true;
    if (this.opts.listenerPid) for (const port of this.ports) if (this.opts.listenerPid(port) === pid) return true;
    if (this.roots.size === 0) return false;
    let p = pid;
    for (let depth = 0; depth < 64; depth++) {
      let stat: string;
      try {
        stat = fs.readFileSync(path.join(this.procRoot, String(p), 'stat'), 'utf8');
      } catch {
        return false; // exited
      }
      const parent = parentPid(stat);
      if (parent === undefined || parent <= 1) return false;
      if (this.roots.has(parent)) return true;
      p = parent;
    }
    return false;
  }
}
