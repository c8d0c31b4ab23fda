/**
 * Resolves who is behind a socket on this host: pid → process name and executable; cgroup id → cgroup path
 * → container, systemd unit, Kubernetes pod (names from kubelet's /var/log/pods/<ns>_<pod>_<uid>); a
 * naming-rules file first; observed DNS answers name remote IPs. Everything is cached: kernel events
 * arrive far faster than /proc can be read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ENDPOINT_IDENTITY, SELF_LABEL, type Endpoint, type EndpointIdentity } from '@sextant/shared';
import { parseCgroupPath, workloadFromPodName } from './cgroup-path';
import type { RuleSet } from './naming-rules';
import { serviceNameOf } from './service-name';

export interface ProcessFacts {
  pid: number;
  name: string;
  exe?: string;
  /** argv from /proc/PID/cmdline (a rewritten process title is one element). */
  argv?: string[];
  cwd?: string;
  cgroupPath?: string;
}

export interface IdentityOptions {
  nodeName: string;
  rules?: RuleSet;
  cgroupRoot?: string;
  procRoot?: string;
  podLogDir?: string;
  /** Docker's state directory: container names from containers/<id>/config.v2.json. */
  dockerDir?: string;
  /** Whether a pid is one of Sextant's own processes (SelfMarker): labelled SELF_LABEL, named sextant-*. */
  isSelf?: (pid: number) => boolean;
  /** How long what /proc says about a process is trusted (ms); default PROCESS_TTL_MS. */
  processTtlMs?: number;
}

export function findCgroup2Root(): string | null {
  try {
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mountPoint, type] = line.split(' ');
      if (type === 'cgroup2' && mountPoint) return mountPoint;
    }
  } catch {
    // not Linux
  }
  return null;
}

/** How long what /proc says about a process is trusted, unless the options say otherwise. */
const PROCESS_TTL_MS = 10_000;

/** Unknown cgroup ids trigger a rescan of the cgroup tree at most this often. */
const CGROUP_RESCAN_MS = 2_000;

/** The kernel keeps 15 characters of a process name (TASK_COMM_LEN - 1). */
const COMM_MAX = 15;

/**
 * A full process name for a comm the kernel cut at 15 characters, from argv[0] of /proc/PID/cmdline: the
 * title the process gave itself ("next-server (v16.0.1)" → "next-server", a trailing version dropped so
 * that upgrades keep one service name) or its program's file name ("kube-controller-manager"). The comm
 * stays when argv[0] does not continue it.
 */
export function untruncatedName(comm: string, cmdline: string): string {
  const argv0 = cmdline.split('\0')[0]?.trim() ?? '';
  for (const candidate of [argv0, argv0.slice(argv0.lastIndexOf('/') + 1)]) {
    if (candidate.length > comm.length && candidate.startsWith(comm)) {
      return candidate.replace(/\s+\(v?\d[^()]*\)$/, '').slice(0, 64);
    }
  }
  return comm;
}

/** An address with an identity (attached under ENDPOINT_IDENTITY, so a batch sends it once), or without. */
export function endpointOf(ip: string, port: number, identity: EndpointIdentity | null): Endpoint {
  return identity ? ({ ip, port, ...identity, [ENDPOINT_IDENTITY]: identity } as Endpoint) : { ip, port };
}

/** A local socket as the kernel reports it. */
export interface LocalSocket {
  port: number;
  pid?: number;
  comm?: string;
  cgroupId?: string;
}

/** A local process's identity, cached under its (pid, comm, cgroup[, port]) key. */
interface LocalIdentity {
  identity: EndpointIdentity;
  at: number;
  key: string;
  comm: string;
  cgroupId: string;
}

export class IdentityResolver {
  private readonly cgroupById = new Map<string, string>();
  private cgroupScanAt = 0;
  private readonly procs = new Map<number, { facts: ProcessFacts; at: number }>();
  private readonly endpoints = new Map<string, LocalIdentity>();
  private readonly lastOfPid = new Map<number, LocalIdentity>();
  private readonly pods = new Map<string, { namespace: string; name: string }>();
  private podScanAt = 0;
  private readonly packages = new Map<string, string | null>();
  private readonly containerNames = new Map<string, string | null>();
  private readonly packageLookup = (dir: string) => this.packageName(dir);
  private readonly dns = new Map<string, { names: string[]; identity: EndpointIdentity; expires: number }>();
  readonly cgroupRoot: string | null;
  private readonly procRoot: string;
  private readonly processTtlMs: number;

  constructor(private readonly opts: IdentityOptions) {
    this.cgroupRoot = opts.cgroupRoot ?? findCgroup2Root();
    this.procRoot = opts.procRoot ?? '/proc';
    this.processTtlMs = opts.processTtlMs ?? PROCESS_TTL_MS;
  }

  /** cgroup v2 path (relative to the root, starting with /) of a cgroup id, or undefined. */
  cgroupPath(cgroupId: string): string | undefined {
    const hit = this.cgroupById.get(cgroupId);
    if (hit !== undefined || !this.cgroupRoot) return hit;
    if (Date.now() - this.cgroupScanAt < CGROUP_RESCAN_MS) return undefined;
    this.scanCgroups();
    return this.cgroupById.get(cgroupId);
  }

  private scanCgroups(): void {
    this.cgroupScanAt = Date.now();
    const root = this.cgroupRoot;
    if (!root) return;
    const walk = (dir: string, depth: number) => {
      let st: fs.BigIntStats;
      try {
        st = fs.statSync(dir, { bigint: true });
      } catch {
        return;
      }
      this.cgroupById.set(st.ino.toString(), `/${path.relative(root, dir)}`);
      if (depth > 12) return;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1);
    };
    walk(root, 0);
  }

  /** Whether a pid is a live process: gone and zombie processes have no executable to read. */
  isRunning(pid: number): boolean {
    try {
      fs.readlinkSync(path.join(this.procRoot, String(pid), 'exe'));
      return true;
    } catch {
      return false;
    }
  }

  /** What /proc says about a pid (cached 10 s by default); falls back to the kernel's comm when the process is gone. */
  process(pid: number, comm?: string): ProcessFacts {
    const cached = this.procs.get(pid);
    if (cached && Date.now() - cached.at < this.processTtlMs) return cached.facts;
    const base = path.join(this.procRoot, String(pid));
    const facts: ProcessFacts = { pid, name: comm ?? '' };
    try {
      facts.name = fs.readFileSync(path.join(base, 'comm'), 'utf8').trim();
      const cmdline = fs.readFileSync(path.join(base, 'cmdline'), 'utf8');
      if (cmdline) facts.argv = cmdline.split('\0');
      if (facts.name.length === COMM_MAX) facts.name = untruncatedName(facts.name, cmdline);
      facts.cwd = fs.readlinkSync(path.join(base, 'cwd'));
      facts.exe = fs.readlinkSync(path.join(base, 'exe'));
    } catch {
      // exited, or a kernel thread
    }
    try {
      const line = fs
        .readFileSync(path.join(base, 'cgroup'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('0::'));
      if (line) facts.cgroupPath = line.slice(3);
    } catch {
      // exited
    }
    if (this.procs.size > 50_000) this.procs.clear();
    this.procs.set(pid, { facts, at: Date.now() });
    return facts;
  }

  /** The `name` of the nearest package.json at or above a directory (each directory read once). */
  packageName(dir: string): string | undefined {
    const seen: string[] = [];
    let found: string | null = null;
    for (let d = dir; ; d = path.dirname(d)) {
      const hit = this.packages.get(d);
      if (hit !== undefined) {
        found = hit;
        break;
      }
      seen.push(d);
      try {
        const name: unknown = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).name;
        if (typeof name === 'string' && name.length > 0 && name.length <= 214) {
          found = name;
          break;
        }
      } catch {
        // none here, unreadable or not JSON: keep looking above
      }
      if (d === path.dirname(d)) break;
    }
    if (this.packages.size > 20_000) this.packages.clear();
    for (const d of seen) this.packages.set(d, found);
    return found ?? undefined;
  }

  /** A Docker container's name (from its config.v2.json), cached per container. */
  private containerName(id: string): string | undefined {
    let hit = this.containerNames.get(id);
    if (hit === undefined) {
      hit = null;
      try {
        const cfg = JSON.parse(
          fs.readFileSync(path.join(this.opts.dockerDir ?? '/var/lib/docker', 'containers', id, 'config.v2.json'), 'utf8'),
        ) as { Name?: unknown };
        if (typeof cfg.Name === 'string' && cfg.Name.replace(/^\//, '')) hit = cfg.Name.replace(/^\//, '');
      } catch {
        // not Docker, or no access
      }
      if (this.containerNames.size > 10_000) this.containerNames.clear();
      this.containerNames.set(id, hit);
    }
    return hit ?? undefined;
  }

  private pod(uid: string): { namespace: string; name: string } | undefined {
    const hit = this.pods.get(uid);
    if (hit || Date.now() - this.podScanAt < 10_000) return hit;
    this.podScanAt = Date.now();
    try {
      for (const d of fs.readdirSync(this.opts.podLogDir ?? '/var/log/pods')) {
        const m = /^([^_]+)_([^_]+)_([0-9a-f-]{36})$/.exec(d);
        if (m?.[1] && m[2] && m[3]) this.pods.set(m[3], { namespace: m[1], name: m[2] });
      }
    } catch {
      // not a Kubernetes node
    }
    return this.pods.get(uid);
  }

  /** Remembers DNS answers (from observed DNS traffic) to name remote IPs. */
  learnDns(name: string, ips: readonly string[], ttlSeconds: number): void {
    const expires = Date.now() + Math.max(30, ttlSeconds) * 1000;
    for (const ip of ips) {
      const prev = this.dns.get(ip);
      const names = prev && prev.expires > Date.now() ? [...new Set([name, ...prev.names])].slice(0, 8) : [name];
      this.dns.set(ip, { names, identity: Object.freeze({ names }), expires });
    }
    if (this.dns.size > 200_000) this.dns.clear();
  }

  dnsNames(ip: string): string[] | undefined {
    return this.dnsIdentity(ip)?.names;
  }

  private dnsIdentity(ip: string): EndpointIdentity | undefined {
    const hit = this.dns.get(ip);
    return hit && hit.expires > Date.now() ? hit.identity : undefined;
  }

  /**
   * The identity of a local socket's process: process, cgroup and workload. Built once per (pid, comm,
   * cgroup) — and port, when a naming rule matches on ports — and reused for the process cache's lifetime: a
   * host opening tens of thousands of connections a second would otherwise parse the same cgroup path and run
   * the same rules for every one. The object is frozen and shared, so a batch sends it once for all the
   * flows that reference it.
   */
  localIdentity(a: LocalSocket): EndpointIdentity {
    const pid = a.pid ?? 0;
    const comm = a.comm ?? '';
    const cgroupId = a.cgroupId ?? '';
    const byPort = this.opts.rules?.matchesPorts === true;
    const now = Date.now();
    // The process's last identity first (no key string to build), then by the full key.
    let hit = byPort ? undefined : this.lastOfPid.get(pid);
    if (!hit || hit.comm !== comm || hit.cgroupId !== cgroupId) {
      const key = `${pid}|${comm}|${cgroupId}|${byPort ? a.port : ''}`;
      hit = this.endpoints.get(key);
      if (!hit || now - hit.at >= this.processTtlMs) hit = this.buildLocal(a, key, now);
      if (!byPort) this.lastOfPid.set(pid, hit);
    } else if (now - hit.at >= this.processTtlMs) {
      hit = this.buildLocal(a, hit.key, now);
      this.lastOfPid.set(pid, hit);
    }
    return hit.identity;
  }

  /**
   * The identity of process `pid` for a socket of it whose comm and cgroup are not known (a local client naming the
   * server it connects to, by its listener's pid): the one the process's own sockets were last named by, whatever
   * their comm and cgroup, while it is fresh; else localIdentity({ port, pid }). A server's own records (read with the
   * kernel's comm and cgroup) and its local clients' records then name it with one identity, not two that took turns
   * as the pid's last (a key string built and looked up for every connection, and the port's listener renamed each
   * time: peer-naming.ts).
   */
  processIdentity(port: number, pid: number): EndpointIdentity {
    // (pid 0, no process known, and port rules, per-port identities, take the usual way)
    const hit = pid > 0 && this.opts.rules?.matchesPorts !== true ? this.lastOfPid.get(pid) : undefined;
    if (hit !== undefined && Date.now() - hit.at < this.processTtlMs) return hit.identity;
    return this.localIdentity({ port, pid });
  }

  /** The endpoint of a local socket: its address and localIdentity(). */
  localEndpoint(a: LocalSocket & { ip: string }): Endpoint {
    return endpointOf(a.ip, a.port, this.localIdentity(a));
  }

  private buildLocal(a: LocalSocket, key: string, now: number): LocalIdentity {
    if (this.endpoints.size >= 10_000) {
      this.endpoints.clear();
      this.lastOfPid.clear();
    }
    const identity = Object.freeze(this.resolveLocal(a)); // shared by every flow and endpoint built from it
    // A cgroup created since the last scan has no path yet: ask again after the next scan is allowed.
    const unresolved = a.cgroupId !== undefined && a.cgroupId !== '0' && identity.cgroupPath === undefined;
    const hit: LocalIdentity = {
      identity,
      at: unresolved ? now - this.processTtlMs + CGROUP_RESCAN_MS : now,
      key,
      comm: a.comm ?? '',
      cgroupId: a.cgroupId ?? '',
    };
    this.endpoints.set(key, hit);
    return hit;
  }

  private resolveLocal(a: LocalSocket): EndpointIdentity {
    const e: EndpointIdentity = { hostName: this.opts.nodeName };
    const proc = a.pid ? this.process(a.pid, a.comm) : undefined;
    if (proc && a.pid) e.process = { pid: a.pid, name: proc.name || a.comm || '', ...(proc.exe ? { exe: proc.exe } : {}) };
    else if (a.comm) e.process = { name: a.comm }; // the kernel named it but knew no pid: none, not 0
    const cgroupPath = (a.cgroupId && a.cgroupId !== '0' ? this.cgroupPath(a.cgroupId) : undefined) ?? proc?.cgroupPath;
    if (a.cgroupId && a.cgroupId !== '0') e.cgroupId = a.cgroupId;
    if (cgroupPath) e.cgroupPath = cgroupPath;
    const cg = cgroupPath ? parseCgroupPath(cgroupPath) : {};
    if (cg.containerId) e.containerId = cg.containerId;
    const rule = this.opts.rules?.match({ cgroupPath, process: e.process?.name, exe: e.process?.exe, localPort: a.port });
    const pod = cg.podUid ? this.pod(cg.podUid) : undefined;
    if (pod) {
      const w = workloadFromPodName(pod.name);
      e.podName = pod.name;
      e.namespace = pod.namespace;
      e.workloads = [{ name: w.name, kind: w.kind }];
    }
    const self = a.pid !== undefined && this.opts.isSelf?.(a.pid) === true;
    if (self) e.labels = [SELF_LABEL];
    if (rule) {
      e.service = rule.service;
      if (rule.namespace) e.namespace = rule.namespace;
      return e;
    }
    const named = serviceNameOf({
      argv: proc?.argv,
      exe: proc?.exe,
      comm: a.comm || proc?.name,
      cwd: proc?.cwd,
      cgroupPath,
      workload: e.workloads?.[0]?.name,
      containerName: cg.containerId ? this.containerName(cg.containerId) : undefined,
      packageName: this.packageLookup,
    });
    if (named) {
      // Sextant's own processes get names of their own: its PostgreSQL must not share a node with yours.
      e.service = self && !/^@?sextant/.test(named.name) ? `sextant-${named.name}` : named.name;
      if (named.source === 'systemd') e.workloads = [{ name: `${named.name}.service`, kind: 'SystemdUnit' }];
      else if (named.source === 'container') e.workloads = [{ name: named.name, kind: 'Container' }];
    }
    return e;
  }

  /** A remote peer's identity: the DNS names it was reached by, when any were observed. */
  remoteIdentity(ip: string): EndpointIdentity | null {
    return this.dnsIdentity(ip) ?? null;
  }

  /** The endpoint of a remote peer: address, and the DNS names it was reached by. */
  remoteEndpoint(ip: string, port: number): Endpoint {
    return endpointOf(ip, port, this.remoteIdentity(ip));
  }
}
