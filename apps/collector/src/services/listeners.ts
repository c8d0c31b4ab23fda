/**
 * Which local process listens on which TCP port, from /proc/net/tcp{,6} (LISTEN sockets) and /proc/<pid>/fd
 * (socket inodes). Lets the collector name the server end of a connection to this host, and the server tell
 * which service owns a port. Refreshed on a timer; cheap enough at tens of seconds.
 */
import fs from 'node:fs';

export interface Listener {
  port: number;
  pid: number;
}

function listeningInodes(procRoot: string): Map<string, number> {
  const inodes = new Map<string, number>();
  for (const file of ['tcp', 'tcp6']) {
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
      if (inode && Number.isFinite(port)) inodes.set(inode, port);
    }
  }
  return inodes;
}

export function scanListeners(procRoot = '/proc'): Map<number, Listener> {
  const inodes = listeningInodes(procRoot);
  const byPort = new Map<number, Listener>();
  if (inodes.size === 0) return byPort;
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
      const port = m ? inodes.get(m[1] ?? '') : undefined;
      if (port !== undefined && !byPort.has(port)) byPort.set(port, { port, pid: Number(entry) });
    }
  }
  return byPort;
}

export class ListenerTable {
  private byPort = new Map<number, Listener>();
  private at = 0;

  constructor(private readonly refreshMs = 30_000) {}

  /** The local process listening on a port, rescanning at most every refreshMs on a miss. */
  lookup(port: number): Listener | undefined {
    const hit = this.byPort.get(port);
    if (hit) return hit;
    if (Date.now() - this.at > Math.min(this.refreshMs, 2_000)) this.refresh();
    return this.byPort.get(port);
  }

  /** Learns a listener from a server-side connection event (cheaper than a scan). */
  learn(port: number, pid: number): void {
    if (pid > 0) this.byPort.set(port, { port, pid });
  }

  refresh(): void {
    this.at = Date.now();
    this.byPort = scanListeners();
  }
}
