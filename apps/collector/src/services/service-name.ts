/**
 * A local process's service name, from the best identity available (after the rules file, which the
 * resolver applies first): Kubernetes workload → container name → systemd unit (not user/session units) →
 * a cgroup someone named (not systemd's, not a container's) → the program with its script → comm.
 * Pure: the caller reads /proc (argv from cmdline, exe, cwd, cgroup) and passes a package.json lookup.
 *
 *   python3 /srv/app.py            → app            python3 -m http.server → http.server
 *   node server.js (package "x")   → x              node server.js (no package.json) → server
 *   java -jar orders-1.2.jar       → orders         java -cp … com.acme.Billing → Billing
 *   argv rewritten to a title ("npm install prettier@3.6.2", "nginx: worker process",
 *   "next-server (v16.0.0)")        → the title's program word: npm, nginx, next-server
 */
import { parseCgroupPath } from './cgroup-path';

export interface ServiceFacts {
  /** NUL-separated /proc/PID/cmdline, split (trailing empty elements are ignored). */
  argv?: readonly string[];
  /** /proc/PID/exe target. */
  exe?: string;
  /** The kernel's comm (≤ 15 characters). */
  comm?: string;
  /** /proc/PID/cwd target: relative script paths are resolved against it. */
  cwd?: string;
  /** cgroup v2 path, relative to the root. */
  cgroupPath?: string;
  /** Kubernetes workload (Deployment, StatefulSet, or the pod) when the process is in a pod. */
  workload?: string;
  /** The container runtime's name for the process's container. */
  containerName?: string;
  /** Name of the nearest package.json above a directory (node programs); undefined when there is none. */
  packageName?: (dir: string) => string | undefined;
}

export type ServiceSource = 'kubernetes' | 'container' | 'systemd' | 'cgroup' | 'script' | 'program' | 'comm';

export interface ServiceName {
  name: string;
  source: ServiceSource;
}

const MAX = 253;

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const dirName = (p: string) => (p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/');
const stripExt = (f: string, ext: RegExp) => f.replace(ext, '');

function absolute(p: string, cwd: string | undefined): string {
  if (p.startsWith('/') || !cwd) return p;
  const parts = `${cwd}/${p}`.split('/');
  const out: string[] = [];
  for (const s of parts) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return `/${out.join('/')}`;
}

/** systemd units that are not a service of their own: a user's manager, logins, the root scope. */
const NOT_A_SERVICE_UNIT =
  /^(user@\d+|user-runtime-dir@\d+|session-[^/]+|init|app-[^/]+|run-[^/]+-\d+|getty@[^/]*|serial-getty@[^/]*)\.(service|scope)$/;

/** The innermost systemd service unit that names a workload, without ".service". */
export function systemdServiceOf(cgroupPath: string): string | undefined {
  const parts = cgroupPath.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] ?? '';
    if (!p.endsWith('.service')) continue;
    if (NOT_A_SERVICE_UNIT.test(p)) return undefined; // e.g. user@1000.service/init.scope: a login, not a unit
    return p.slice(0, -'.service'.length);
  }
  return undefined;
}

/**
 * A cgroup that neither systemd nor a container runtime made: someone grouped these processes on purpose
 * (an operator's `mkdir /sys/fs/cgroup/orders`, a supervisor, LXC's `lxc.payload.<name>`), so its leaf
 * directory names them. Paths with systemd units/slices/scopes, ids (hex, uuids, numbers) and the root say
 * nothing.
 */
export function namedCgroupOf(cgroupPath: string): string | undefined {
  const parts = cgroupPath.split('/').filter(Boolean);
  if (parts.length === 0) return undefined;
  if (parts.some((p) => /\.(slice|scope|service|mount|socket)$/.test(p) || p.startsWith('kubepods'))) return undefined;
  const leaf = (parts[parts.length - 1] ?? '').replace(/^lxc\.payload\./, '');
  if (!leaf || leaf === 'init' || /^[0-9a-f-]{12,}$/i.test(leaf) || /^\d+$/.test(leaf)) return undefined;
  return leaf;
}

/** argv without trailing empty elements (a rewritten title leaves NULs behind). */
function realArgv(argv: readonly string[] | undefined): string[] {
  const out = argv ? [...argv] : [];
  while (out.length && !out[out.length - 1]) out.pop();
  return out;
}

/** The program word of a process title: "nginx: worker process" → nginx, "next-server (v16.0.0)" → next-server. */
export function titleProgram(title: string): string {
  return title.trim().split(/[\s:(]/, 1)[0] ?? '';
}

/** comm without a process-title suffix: "next-server (v1" → next-server, "npm install pre" → npm. */
export function commName(comm: string): string {
  return titleProgram(comm) || comm.trim();
}

const PYTHON = /^(python[\d.]*|pypy[\d.]*)$/;
const NODE = /^(node|nodejs|bun)$/;
const JAVA = /^java$/;
const SCRIPTED = /^(ruby[\d.]*|perl[\d.]*|php[\d.]*|bash|sh|dash|zsh|ash|ksh|tclsh|Rscript|lua[\d.]*)$/;

/** Interpreter options that take a value (the next argument is not the script). */
const PY_VALUE_OPTS = new Set(['-W', '-X', '--check-hash-based-pycs']);
const NODE_VALUE_OPTS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '--env-file',
  '--conditions',
  '-C',
  '--inspect-port',
  '--title',
  '--max-old-space-size',
]);
const JAVA_VALUE_OPTS = new Set([
  '-cp',
  '-classpath',
  '--class-path',
  '-p',
  '--module-path',
  '--add-modules',
  '--add-opens',
  '--add-exports',
]);

/** The first argument that is not an option (or an option's value); `stop` options mean no script. */
function firstOperand(args: readonly string[], valueOpts: Set<string>, stop: RegExp): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') return args[i + 1];
    if (stop.test(a)) return undefined;
    if (a.startsWith('-')) {
      if (valueOpts.has(a)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

function pythonName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-m') return args[i + 1];
    if (a.startsWith('-m') && a.length > 2 && !a.startsWith('--')) return a.slice(2);
    if (a === '-c') return undefined;
    if (a.startsWith('-')) {
      if (PY_VALUE_OPTS.has(a)) i++;
      continue;
    }
    const file = baseName(a);
    if (file === '__main__.py') return baseName(dirName(a)) || undefined;
    return stripExt(file, /\.py[cw]?$/) || undefined;
  }
  return undefined;
}

function nodeName(args: readonly string[], cwd: string | undefined, packageName: ServiceFacts['packageName']): string | undefined {
  const script = firstOperand(args, NODE_VALUE_OPTS, /^(-e|--eval|-p|--print|-i|--interactive)$/);
  if (!script) return undefined;
  const abs = absolute(script, cwd);
  // A tool run from node_modules (npm, next, tsx, vite) works for the project it was started in.
  const inTool = abs.includes('/node_modules/');
  const pkg = packageName?.(inTool && cwd ? cwd : dirName(abs)) ?? (inTool ? packageName?.(dirName(abs)) : undefined);
  return pkg || stripExt(baseName(abs), /\.(c|m)?(j|t)sx?$/) || undefined;
}

function javaName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-jar') {
      const jar = stripExt(baseName(args[i + 1] ?? ''), /\.jar$/);
      return jar.replace(/-\d[\w.]*(-SNAPSHOT)?$/i, '') || undefined;
    }
    if (a === '-m' || a === '--module') return (args[i + 1] ?? '').split('/').pop()?.split('.').pop() || undefined;
    if (a.startsWith('-')) {
      if (JAVA_VALUE_OPTS.has(a)) i++;
      continue;
    }
    return a.split('.').pop() || undefined; // main class: com.acme.Billing → Billing
  }
  return undefined;
}

/**
 * The program with its script, from argv (never from a process title); else the title's program word or
 * the comm. Returns the name and whether a script named it.
 */
export function programName(f: Pick<ServiceFacts, 'argv' | 'exe' | 'comm' | 'cwd' | 'packageName'>): ServiceName | null {
  const argv = realArgv(f.argv);
  const comm = f.comm?.trim() ?? '';
  const argv0 = argv[0] ?? '';
  if (argv.length === 1 && /\s/.test(argv0.trim())) {
    // argv[0] was rewritten to a title ("npm install prettier@3.6.2"): only its program word, when the comm
    // agrees the process titled itself, else the comm or the executable.
    const word = titleProgram(argv0);
    if (word && (comm === '' || argv0.startsWith(comm) || word.startsWith(commName(comm))))
      return { name: word.slice(0, MAX), source: 'program' };
    const fallback = comm ? commName(comm) : f.exe ? baseName(f.exe) : '';
    return fallback ? { name: fallback, source: 'comm' } : null;
  }
  if (argv0) {
    const prog = baseName(argv0).replace(/^-/, ''); // "-bash": a login shell
    const exe = f.exe ? baseName(f.exe) : '';
    const is = (re: RegExp) => re.test(prog) || re.test(exe);
    const args = argv.slice(1);
    const script = is(PYTHON)
      ? pythonName(args)
      : is(NODE)
        ? nodeName(args, f.cwd, f.packageName)
        : is(JAVA)
          ? javaName(args)
          : is(SCRIPTED)
            ? (() => {
                const s = firstOperand(args, new Set(), /^(-c|-e|-r)$/);
                return s ? stripExt(baseName(s), /\.(rb|pl|php|sh|bash|tcl|R|lua)$/) : undefined;
              })()
            : undefined;
    if (script) return { name: script.slice(0, MAX), source: 'script' };
    if (prog) return { name: prog.slice(0, MAX), source: 'program' };
  }
  if (comm) return { name: commName(comm), source: 'comm' };
  return f.exe ? { name: baseName(f.exe), source: 'program' } : null;
}

/** The service name by the rule above (the rules file, applied by the caller, comes first). */
export function serviceNameOf(f: ServiceFacts): ServiceName | null {
  if (f.workload) return { name: f.workload, source: 'kubernetes' };
  if (f.containerName) return { name: f.containerName, source: 'container' };
  if (f.cgroupPath) {
    const cg = parseCgroupPath(f.cgroupPath);
    if (cg.containerId) return { name: `container-${cg.containerId.slice(0, 12)}`, source: 'container' };
    const unit = systemdServiceOf(f.cgroupPath);
    if (unit) return { name: unit, source: 'systemd' };
    const named = namedCgroupOf(f.cgroupPath);
    if (named) return { name: named, source: 'cgroup' };
  }
  return programName(f);
}
