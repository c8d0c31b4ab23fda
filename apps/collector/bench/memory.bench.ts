/**
 * bench:memory — where the collector's resident memory goes, per workload, flat out: wrk against nginx on loopback
 * with the collector running (its own setup per workload), the collector's /proc/<pid>/smaps sampled every 200 ms
 * and split into BPF map mappings (the ring buffers: resident in full from mmap, data area mapped twice), anonymous
 * memory (V8 heap, native allocations) and file-backed pages (the node binary, libraries); the peak (VmHWM) and the
 * split at the highest sample; from the collector's last health report its V8 heap (used / total), external and
 * array-buffer memory (and the largest of each reported during the run), lost events, the L7 ring's full events and
 * what it shed per reason.
 * BENCH_WORKLOADS (comma list of ka, close, tls-ka, ka-full, close-full, close-l4, ka-hooks; default ka,close),
 * BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32), BENCH_ROUNDS (runs per workload, default 1),
 * BENCH_CUSTOM_ENV ('SEXTANT_L7_RING_MB=16 …': added to every workload's collector environment), BENCH_NODE_FLAGS
 * (node flags of the collector, e.g. --max-semi-space-size=8), BENCH_BASELINE (a collector bundle of another commit,
 * `npm run bench:baseline -- <ref>`: run after this checkout's in every round, same workload), BENCH_SMAPS_DIR (a
 * directory: the smaps of each run's highest sample is written there as <workload>-<round>.smaps).
 * Also per run: the start-up peak (VmHWM once the collector says it is observing, before any load), the idle RSS
 * a second later, and the RSS once the run's backlog is worked off (steady).
 */
import fs from 'node:fs';
import { requireTools, startCollector, startRig, wrk } from './harness';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'ka,close').split(',');
const BASELINE = process.env.BENCH_BASELINE;
const SMAPS_DIR = process.env.BENCH_SMAPS_DIR;
if (SMAPS_DIR) fs.mkdirSync(SMAPS_DIR, { recursive: true });
const CUSTOM = Object.fromEntries(
  (process.env.BENCH_CUSTOM_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
requireTools('bench:memory');

const SETUPS: Record<string, { close: boolean; tls?: boolean; env: Record<string, string> }> = {
  ka: { close: false, env: {} },
  close: { close: true, env: {} },
  'tls-ka': { close: false, tls: true, env: {} },
  'ka-full': { close: false, env: { SEXTANT_L7_MODE: 'full' } },
  'close-full': { close: true, env: { SEXTANT_L7_MODE: 'full' } },
  'close-l4': { close: true, env: { SEXTANT_L7: '0' } },
  'ka-hooks': { close: false, env: { SEXTANT_L7_MODE: 'hooks' } },
};

interface Split {
  /** The smaps text it was read from (kept for BENCH_SMAPS_DIR). */
  smaps: string;
  totalMb: number;
  bpfMb: number;
  anonMb: number;
  fileMb: number;
}

/** Resident pages of one process by kind of mapping (smaps' Rss lines, kB). */
function split(pid: number): Split {
  const kb = { bpf: 0, anon: 0, file: 0 };
  let kind: keyof typeof kb = 'anon';
  const smaps = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  for (const l of smaps.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(l);
    if (head) {
      const name = head[2] ?? '';
      kind = name.includes('anon_inode:bpf-map') ? 'bpf' : name.startsWith('/') && head[1] !== '0' ? 'file' : 'anon';
    } else if (l.startsWith('Rss:')) kb[kind] += Number(l.split(/\s+/)[1] ?? 0);
  }
  return { smaps, totalMb: (kb.bpf + kb.anon + kb.file) / 1024, bpfMb: kb.bpf / 1024, anonMb: kb.anon / 1024, fileMb: kb.file / 1024 };
}

/** A /proc/<pid>/status figure in MB (VmHWM: the peak resident set; VmRSS: now). */
function statusMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

const f = (x: number | undefined) => (x ?? 0).toFixed(0);

const rig = await startRig();
try {
  console.log(
    `bench:memory — nginx on loopback, wrk -t1 -c${CONNECTIONS} ${SECONDS}s flat out; collector env ${JSON.stringify(CUSTOM)} ${process.env.BENCH_NODE_FLAGS ?? ''}`,
  );
  const entries: (string | undefined)[] = BASELINE ? [undefined, BASELINE] : [undefined];
  for (const name of WORKLOADS) {
    const s = SETUPS[name];
    if (!s) throw new Error(`unknown workload ${name} (${Object.keys(SETUPS).join(', ')})`);
    for (let round = 0; round < ROUNDS * entries.length; round++) {
      const entry = entries[round % entries.length];
      const collector = await startCollector(rig, { ...s.env, ...CUSTOM }, entry);
      const pid = collector.pid;
      const startPeak = statusMb(pid, 'VmHWM');
      await new Promise((r) => setTimeout(r, 1_000));
      const idle = statusMb(pid, 'VmRSS');
      let top = split(pid);
      // The largest V8 heap / external memory any health report (every 2 s) gave during the run.
      const most: Record<string, number> = {};
      let tick = 0;
      const timer = setInterval(() => {
        try {
          const now = split(pid);
          if (now.totalMb > top.totalMb) top = now;
        } catch {
          // the collector has exited
        }
        if (++tick % 10 === 0) {
          const details = (rig.counts.lastHealth as { details?: Record<string, number> }).details ?? {};
          for (const k of ['memHeapUsedMb', 'memHeapTotalMb', 'memExternalMb', 'memArrayBuffersMb'])
            most[k] = Math.max(most[k] ?? 0, details[k] ?? 0);
        }
      }, 200);
      collector.mark();
      const run = await wrk(rig, { seconds: SECONDS, connections: CONNECTIONS, close: s.close, tls: s.tls });
      const cpu = collector.cpuSinceMark();
      await new Promise((r) => setTimeout(r, 3_000)); // its backlog worked off, one more health report (every 2 s)
      clearInterval(timer);
      const hwm = statusMb(pid, 'VmHWM');
      const steady = statusMb(pid, 'VmRSS');
      const d = (rig.counts.lastHealth as { details?: Record<string, number> }).details ?? {};
      await collector.stop();
      const shed = Object.entries(d)
        .filter(([k, v]) => /^l7(Shed|LateBatches|HeapBatches|ForcedCollections)|Dropped|ShedRecords|^ringbufFull|^lost/.test(k) && v)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(
        `${name.padEnd(10)}${entry ? ' (baseline)' : ''} ${f(run.rps)} req/s, collector ${f((100 * cpu.cpuSeconds) / cpu.wallSeconds)} % of a core: peak RSS ${f(hwm)} MB (start-up ${f(startPeak)}, idle ${f(idle)}, steady after ${f(steady)}); highest sample ${f(top.totalMb)} MB = BPF maps ${f(top.bpfMb)} + anon ${f(top.anonMb)} + files ${f(top.fileMb)}; ` +
          `last report: heap ${f(d.memHeapUsedMb)}/${f(d.memHeapTotalMb)} MB, external ${f(d.memExternalMb)} (array buffers ${f(d.memArrayBuffersMb)}); ` +
          `largest reported during the run: heap ${f(most.memHeapUsedMb)}/${f(most.memHeapTotalMb)}, external ${f(most.memExternalMb)} (array buffers ${f(most.memArrayBuffersMb)}); ` +
          `lost ${rig.counts.lastHealth.lostEvents ?? 0}, L7 ring full ${d.l7RingbufFull ?? 0}, L7 connections evicted ${d.l7EvictedConnections ?? 0}${shed ? `; shed ${shed}` : ''}`,
      );
      if (SMAPS_DIR) fs.writeFileSync(`${SMAPS_DIR}/${name}-${round}${entry ? '-baseline' : ''}.smaps`, top.smaps);
      rig.resetCounts();
    }
  }
} finally {
  rig.close();
}
