/**
 * bench:collector — wrk against nginx on loopback with the collector off, on, and off again, in one run:
 * prints throughput ratio on/off, collector CPU (% of a core, and per 10k req/s), peak RSS and lost events.
 * Every request is a new TCP connection (Connection: close), the worst case for a connection-level
 * collector: 2 kernel events per request. The collector ships to a discard endpoint on loopback so that a
 * database on the same 2 cores does not distort the host measurement (ingest has its own benchmark).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { preflight } from '@sextant/bpf';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const here = path.dirname(fileURLToPath(import.meta.url));
const pf = preflight();
if (!pf.ok) {
  console.error(`bench:collector needs eBPF: ${pf.reason}`);
  process.exit(1);
}
for (const bin of ['nginx', 'wrk']) {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`]);
  } catch {
    console.error(`bench:collector needs ${bin} (apt-get install -y nginx-light wrk)`);
    process.exit(1);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-bench-collector-'));
const nginxPort = 18080 + Math.floor(Math.random() * 1000);
fs.writeFileSync(path.join(tmp, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi; uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  server { listen 127.0.0.1:${nginxPort}; location / { return 200 "ok\\n"; } }
}`);
const nginx = spawn('nginx', ['-c', path.join(tmp, 'nginx.conf'), '-p', tmp], { stdio: 'inherit' });

// Discard sink speaking the ingest procedure's success shape; remembers the last health report.
let lastHealth: { lostEvents?: number; eventsPerSecond?: number } = {};
let receivedRecords = 0;
const sink = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as { flows?: unknown[]; l7?: unknown[]; health?: typeof lastHealth; batchId?: string }) : {};
    if (body.health) lastHealth = body.health;
    receivedRecords += (body.flows?.length ?? 0) + (body.l7?.length ?? 0);
    const data = req.url?.includes('register') ? { collectorId: '00000000-0000-4000-8000-000000000000', name: 'bench', serverVersion: 'sink' } : { batchId: body.batchId, stored: true, flows: 0, l7: 0, histograms: 0 };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ result: { data } }));
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
await new Promise((r) => setTimeout(r, 500));

function wrk(): number {
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '-H', 'Connection: close', `http://127.0.0.1:${nginxPort}/`]).toString();
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  return m ? Number(m[1]) : NaN;
}

function procCpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 100 Hz
}

function peakRssMb(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

async function startCollector(): Promise<ChildProcess> {
  const prof = [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
  const c = spawn(process.execPath, [...prof, path.join(here, '..', 'bin', 'sextant-collector.mjs')], {
    env: { ...process.env, SEXTANT_SERVER: sinkUrl, SEXTANT_TOKEN: `sxc_${'b'.repeat(43)}`, SEXTANT_SPOOL_DIR: path.join(tmp, 'spool'), SEXTANT_HEALTH_INTERVAL_MS: '2000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => c.stdout?.on('data', (d: Buffer) => d.toString().includes('observing') && resolve()));
  return c;
}

try {
  wrk(); // warm-up
  const off1 = wrk();
  const collector = await startCollector();
  const pid = collector.pid ?? 0;
  const cpu0 = procCpuSeconds(pid);
  const t0 = Date.now();
  const on = wrk();
  const cpuSeconds = procCpuSeconds(pid) - cpu0;
  const wall = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 3_000)); // final health report and batches
  const rss = peakRssMb(pid);
  collector.kill('SIGTERM');
  await new Promise((r) => collector.on('exit', r));
  const off2 = wrk();
  const off = (off1 + off2) / 2;
  const cpuPct = (cpuSeconds / wall) * 100;
  console.log(`bench:collector — wrk -c${CONNECTIONS} ${DURATION}s, new TCP connection per request, nginx on loopback, 2 cores`);
  console.log(`throughput off        ${off1.toFixed(0)} / ${off2.toFixed(0)} req/s (mean ${off.toFixed(0)})`);
  console.log(`throughput on         ${on.toFixed(0)} req/s`);
  console.log(`ratio on/off          ${(on / off).toFixed(3)}  (target >= 0.97)`);
  console.log(`collector CPU         ${cpuPct.toFixed(1)} % of a core; ${(cpuPct / (on / 10_000)).toFixed(1)} % per 10k req/s  (target <= 10 %)`);
  console.log(`collector peak RSS    ${rss.toFixed(0)} MB  (target <= 150 MB)`);
  console.log(`records shipped       ${receivedRecords} (${(receivedRecords / (on * DURATION)).toFixed(2)} per request: client + server side)`);
  console.log(`lost events           ${lastHealth.lostEvents ?? 'no health report'}  (target 0)`);
} finally {
  nginx.kill('SIGQUIT');
  sink.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
