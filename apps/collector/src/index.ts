/**
 * sextant-collector: `npm run collector -- --server URL --token TOKEN`. One process per host; SIGINT/SIGTERM
 * detach every BPF program and leave unsent batches in the spool for the next start.
 */
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import v8 from 'node:v8';
import { preflight } from '@sextant/bpf';
import { Collector } from './collector';
import { ConfigError, loadConfig } from './env';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : String(err));
    process.exit(2);
  }
  // Say why eBPF cannot run before touching anything else (spool, server).
  const pf = preflight();
  if (!pf.ok) {
    console.error(`[collector] eBPF is not available on this host: ${pf.reason}`);
    process.exit(1);
  }
  const collector = new Collector(config);
  try {
    await collector.start();
  } catch (err) {
    console.error(`[collector] ${(err as Error).message}`);
    await collector.stop().catch(() => {});
    process.exit(1);
  }
  // For performance work: a CPU profile of the running collector, started after the programs are loaded
  // (the profiler's signals would interrupt the kernel verifier), written at stop.
  // SEXTANT_HEAP_PROFILE: where the collector allocates (sampled, including objects that died young).
  const profilePath = process.env.SEXTANT_CPU_PROFILE;
  const heapProfilePath = process.env.SEXTANT_HEAP_PROFILE;
  const profiler = profilePath || heapProfilePath ? new inspector.Session() : null;
  if (profiler) {
    profiler.connect();
    if (profilePath) {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    if (heapProfilePath) {
      await profiler.post('HeapProfiler.enable');
      await profiler.post('HeapProfiler.startSampling', {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: !process.env.SEXTANT_HEAP_PROFILE_LIVE,
        includeObjectsCollectedByMinorGC: !process.env.SEXTANT_HEAP_PROFILE_LIVE,
      });
      process.on(process.env.SEXTANT_BENCH_PAUSE === '1' ? 'SIGURG' : 'SIGUSR2', () => {
        void profiler
          .post('HeapProfiler.getSamplingProfile')
          .then((r) => fs.writeFileSync(`${heapProfilePath}.usr2`, JSON.stringify(r.profile)));
      });
    }
  }
  // SEXTANT_MEMORY_LOG=ms: resident set, V8 heap spaces and external memory to stderr at that interval (memory work).
  const memoryLogMs = Number(process.env.SEXTANT_MEMORY_LOG ?? 0);
  if (memoryLogMs > 0) setInterval(logMemory, memoryLogMs).unref();
  // SEXTANT_BENCH_PAUSE=1 (bench:collector BENCH_PAIRED): SIGUSR2 detaches the programs, the next attaches them again,
  // so that a benchmark alternates observing and not every few seconds within one warm collector (the heap
  // profile's SIGUSR2 dump then answers SIGURG).
  if (process.env.SEXTANT_BENCH_PAUSE === '1') {
    let paused = false;
    process.on('SIGUSR2', () => {
      paused = !paused;
      collector.setPaused(paused);
      console.log(`[collector] ${paused ? 'paused' : 'resumed'}`);
    });
  }
  console.log(`[collector] observing ${config.nodeName}; shipping to ${config.server}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('[collector] stopping: detaching programs, flushing batches');
    if (profiler && profilePath) fs.writeFileSync(profilePath, JSON.stringify((await profiler.post('Profiler.stop')).profile));
    if (profiler && heapProfilePath)
      fs.writeFileSync(heapProfilePath, JSON.stringify((await profiler.post('HeapProfiler.stopSampling')).profile));
    await collector.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

function logMemory(): void {
  const mb = (n: number) => Math.round(n / 1048576);
  const m = process.memoryUsage();
  const spaces = v8
    .getHeapSpaceStatistics()
    .filter((s) => s.space_size > 1048576)
    .map((s) => `${s.space_name.replace(/_space$/, '')} ${mb(s.space_used_size)}/${mb(s.space_size)}`);
  console.error(
    `[collector] memory: rss ${mb(m.rss)} MB, heap ${spaces.join(', ')}, external ${mb(m.external)} (array buffers ${mb(m.arrayBuffers)})`,
  );
}

void main();
