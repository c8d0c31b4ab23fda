/**
 * Shared by the collector benchmarks: nginx on loopback, wrk (flat out or rate-limited through a Lua delay
 * script, keep-alive or a new connection per request), a discard sink that speaks the ingest procedure's
 * success shape and counts what it received, and the collector as a child process with its CPU and RSS.
 * The collector ships to the sink so that a database on the same 2 cores does not distort the host
 * measurement (ingest has its own benchmark).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { preflight } from '@sextant/bpf';
import { makeSelfSignedCert } from '../src/testing/tls-cert';
import { COLLECTOR_BIN, collectorLaunch } from '../scripts/node-flags.mjs';

export function requireTools(name: string): void {
  const pf = preflight();
  if (!pf.ok) {
    console.error(`${name} needs eBPF: ${pf.reason}`);
    process.exit(1);
  }
  for (const bin of ['nginx', 'wrk', 'openssl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`]);
    } catch {
      console.error(`${name} needs ${bin} (apt-get install -y nginx-light wrk openssl)`);
      process.exit(1);
    }
  }
}

export interface SinkCounts {
  flows: number;
  /** Paired HTTP exchanges (request + response) whose server is the benchmark's nginx. */
  httpToNginx: number;
  /** Of those, the ones on the full path (no sampling reason): each is the only count of its exchange. */
  fullPathToNginx: number;
  /** HTTP exchanges with nginx counted by the kernel's aggregates (signals mode). */
  aggregatedToNginx: number;
  /** Records of nginx's exchanges by why they were kept (signals mode: error, slow, capture, sampled). */
  keptToNginx: Record<string, number>;
  l7Total: number;
  lastHealth: {
    lostEvents?: number;
    eventsPerSecond?: number;
    unparsedBytes?: number;
    parsedBytes?: number;
    l7ForcedCollections?: number;
    l7HeapBatches?: number;
  };
}

export interface Rig {
  tmp: string;
  nginxPort: number;
  /** The same nginx answering over TLS (a self-signed certificate made at start). */
  nginxTlsPort: number;
  sinkUrl: string;
  counts: SinkCounts;
  resetCounts(): void;
  close(): void;
}

export async function startRig(): Promise<Rig> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-bench-'));
  const nginxPort = 18080 + Math.floor(Math.random() * 1000);
  const nginxTlsPort = nginxPort + 7000;
  const cert = makeSelfSignedCert(path.join(tmp, 'cert'));
  fs.writeFileSync(
    path.join(tmp, 'nginx.conf'),
    `
worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi; uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  server { listen 127.0.0.1:${nginxPort}; location / { return 200 "ok\\n"; } }
  server { listen 127.0.0.1:${nginxTlsPort} ssl; ssl_certificate ${cert.cert}; ssl_certificate_key ${cert.key}; location / { return 200 "ok\\n"; } }
}`,
  );
  const nginx = spawn('nginx', ['-c', path.join(tmp, 'nginx.conf'), '-p', tmp], { stdio: 'inherit' });
  // The sink stands in for a remote server: during a measurement it only reads bodies and answers (the batch
  // id is near the start of the JSON); parsing and counting wait until a figure is read, so that the sink's
  // JSON work does not take CPU from the workload being measured on these 2 cores.
  const tally: SinkCounts = {
    flows: 0,
    httpToNginx: 0,
    fullPathToNginx: 0,
    aggregatedToNginx: 0,
    keptToNginx: {},
    l7Total: 0,
    lastHealth: {},
  };
  const pending: Buffer[] = [];
  const settle = () => {
    for (const raw of pending.splice(0)) {
      // (an L7 event's destination is an object up to wire schema v2, [ip, port, ref] from v3)
      const body = JSON.parse(raw.toString()) as {
        flows?: unknown[];
        l7?: {
          protocol: string;
          type?: string;
          sampling?: string;
          destination: { port?: number } | [string, number | null, number | null];
        }[];
        l7Aggregates?: { protocol: string; count: number; destination: [string, number | null, number | null] }[];
        health?: SinkCounts['lastHealth'] & { details?: SinkCounts['lastHealth'] };
      };
      // (the L7 and memory counters are in the report's details)
      if (body.health) tally.lastHealth = { ...body.health.details, ...body.health };
      tally.flows += body.flows?.length ?? 0;
      for (const e of body.l7 ?? []) {
        tally.l7Total++;
        const port = Array.isArray(e.destination) ? e.destination[1] : e.destination.port;
        if (e.protocol === 'http' && e.type === 'RESPONSE' && (port === nginxPort || port === nginxTlsPort)) {
          tally.httpToNginx++;
          if (e.sampling) tally.keptToNginx[e.sampling] = (tally.keptToNginx[e.sampling] ?? 0) + 1;
          else tally.fullPathToNginx++;
        }
      }
      for (const a of body.l7Aggregates ?? [])
        if (a.protocol === 'http' && (a.destination[1] === nginxPort || a.destination[1] === nginxTlsPort))
          tally.aggregatedToNginx += a.count;
    }
    return tally;
  };
  const counts: SinkCounts = {
    get flows() {
      return settle().flows;
    },
    get httpToNginx() {
      return settle().httpToNginx;
    },
    get fullPathToNginx() {
      return settle().fullPathToNginx;
    },
    get aggregatedToNginx() {
      return settle().aggregatedToNginx;
    },
    get keptToNginx() {
      return { ...settle().keptToNginx };
    },
    get l7Total() {
      return settle().l7Total;
    },
    get lastHealth() {
      return settle().lastHealth;
    },
  };
  const sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const register = req.url?.includes('register');
      if (raw.length && !register) pending.push(raw);
      const batchId = /"batchId":"([^"]+)"/.exec(raw.toString('latin1', 0, 256))?.[1];
      const data = register
        ? { collectorId: '00000000-0000-4000-8000-000000000000', name: 'bench', serverVersion: 'sink' }
        : { batchId, stored: true, flows: 0, l7: 0, histograms: 0 };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: { data } }));
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  await new Promise((r) => setTimeout(r, 500));
  return {
    tmp,
    nginxPort,
    nginxTlsPort,
    sinkUrl,
    counts,
    resetCounts() {
      settle();
      tally.flows = 0;
      tally.httpToNginx = 0;
      tally.fullPathToNginx = 0;
      tally.aggregatedToNginx = 0;
      tally.keptToNginx = {};
      tally.l7Total = 0;
    },
    close() {
      nginx.kill('SIGQUIT');
      sink.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface WrkOptions {
  seconds: number;
  connections: number;
  /** New TCP connection per request (Connection: close) instead of keep-alive. */
  close?: boolean;
  /** Target requests/s over all connections (Lua delay); flat out when absent. */
  rate?: number;
  /** HTTPS to nginx's TLS listener (wrk links the system libssl). */
  tls?: boolean;
}

export interface WrkResult {
  requests: number;
  rps: number;
  /** Requests that got no or a broken response. */
  errors: number;
  /** CPU time the whole machine spent (every process and the kernel) per request during the run, µs. */
  machineCpuUsPerRequest: number;
}

/** Busy time of all CPUs since boot, in seconds (/proc/stat: everything but idle and iowait). */
function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** Runs wrk without blocking this process, so that the sink keeps answering the collector meanwhile. */
export async function wrk(rig: Rig, o: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`];
  if (o.close) args.push('-H', 'Connection: close');
  if (o.rate) {
    // wrk waits delay() ms before each request of a connection: connections × 1000 / delay ≈ rate.
    const delayMs = Math.max(1, Math.round((o.connections * 1000) / o.rate));
    const script = path.join(rig.tmp, `delay-${delayMs}.lua`);
    fs.writeFileSync(script, `function delay() return ${delayMs} end\n`);
    args.push('-s', script);
  }
  args.push(o.tls ? `https://127.0.0.1:${rig.nginxTlsPort}/` : `http://127.0.0.1:${rig.nginxPort}/`);
  const busy0 = machineBusySeconds();
  const out = (await promisify(execFile)('wrk', args)).stdout;
  const busy = machineBusySeconds() - busy0;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    errors: non2xx + (errs ? errs.slice(1).reduce((s, v) => s + Number(v), 0) : 0),
    machineCpuUsPerRequest: (busy / requests) * 1e6,
  };
}

function procCpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 100 Hz
}

function peakRssMb(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** Resident pages of BPF map mappings (ring buffers: the kernel maps each data area twice, for wrap-around). */
function bpfMappedMb(pid: number): number {
  let kb = 0;
  let inBpf = false;
  for (const l of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) inBpf = l.includes('anon_inode:bpf-map');
    else if (inBpf && l.startsWith('Rss:')) kb += Number(l.split(/\s+/)[1] ?? 0);
  }
  return kb / 1024;
}

export interface RunningCollector {
  pid: number;
  /** CPU seconds used since the last mark, and wall seconds. */
  mark(): void;
  cpuSinceMark(): { cpuSeconds: number; wallSeconds: number };
  peakRssMb(): number;
  /** Part of the RSS that is BPF ring buffer / map mappings (kernel memory, not the process's heap). */
  bpfMappedMb(): number;
  /** Started with SEXTANT_BENCH_PAUSE=1: detaches (true) or attaches again (false) its programs, once it says so. */
  setPaused(paused: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a collector: this checkout's, or `entry` (a collector bundle, e.g. of an earlier commit). */
export async function startCollector(rig: Rig, env: Record<string, string> = {}, entry?: string): Promise<RunningCollector> {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  // the product's own node flags and variables (the bin's first line), then the benchmark's
  const launch = collectorLaunch();
  const c: ChildProcess = spawn(process.execPath, [...launch.flags, ...flags, entry ?? COLLECTOR_BIN], {
    env: {
      ...process.env,
      ...launch.env,
      SEXTANT_SERVER: rig.sinkUrl,
      SEXTANT_TOKEN: `sxc_${'b'.repeat(43)}`,
      SEXTANT_SPOOL_DIR: path.join(rig.tmp, `spool-${Date.now()}`),
      SEXTANT_HEALTH_INTERVAL_MS: '2000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let said = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  // BENCH_COLLECTOR_STDOUT=file: the collector's standard output appended there (e.g. with BENCH_NODE_FLAGS=--trace-gc)
  const copyTo = process.env.BENCH_COLLECTOR_STDOUT;
  c.stdout?.on('data', (d: Buffer) => {
    if (copyTo) fs.appendFileSync(copyTo, d);
    said += d.toString();
    for (const w of waiters.splice(0)) {
      if (said.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
    said = said.slice(-200);
  });
  const until = (text: string) => new Promise<void>((resolve) => waiters.push({ text, resolve }));
  await until('observing');
  let isPaused = false; // SIGUSR2 toggles (index.ts)
  const pid = c.pid ?? 0;
  let cpu0 = procCpuSeconds(pid);
  let t0 = Date.now();
  return {
    pid,
    mark() {
      cpu0 = procCpuSeconds(pid);
      t0 = Date.now();
    },
    cpuSinceMark() {
      return { cpuSeconds: procCpuSeconds(pid) - cpu0, wallSeconds: (Date.now() - t0) / 1000 };
    },
    peakRssMb: () => peakRssMb(pid),
    bpfMappedMb: () => bpfMappedMb(pid),
    async setPaused(paused) {
      if (paused === isPaused) return;
      isPaused = paused;
      said = '';
      const acked = until(paused ? '[collector] paused' : '[collector] resumed');
      c.kill('SIGUSR2');
      await acked;
    },
    async stop() {
      c.kill('SIGTERM');
      await new Promise((r) => c.on('exit', r));
    },
  };
}

export const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
