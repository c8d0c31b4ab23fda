/**
 * BENCH_HEAP=1 for the collector's micro benches (close-path, l7-exchange): where a loop allocates, from V8's sampling
 * heap profiler (objects that died young included: what the garbage collector has to do), as bytes per unit of work by
 * function.
 */
import { Session } from 'node:inspector/promises';

interface HeapNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: HeapNode[];
}

/** Starts sampling when BENCH_HEAP is set; the session to pass to printHeapSampling, or null. */
export async function startHeapSampling(): Promise<Session | null> {
  if (!process.env.BENCH_HEAP) return null;
  const heap = new Session();
  heap.connect();
  await heap.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return heap;
}

/** Stops sampling and prints the bytes allocated per `unit` (of which `units` were run), in total and by function. */
export async function printHeapSampling(heap: Session | null, units: number, unit: string, top: number): Promise<void> {
  if (!heap) return;
  const { profile } = (await heap.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
  const by = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}`;
    by.set(key, (by.get(key) ?? 0) + n.selfSize);
    total += n.selfSize;
    n.children.forEach(walk);
  };
  walk(profile.head);
  const per = (b: number) => (b / units).toFixed(0);
  console.log(`allocated ~${per(total)} bytes per ${unit}; by function:`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${per(v).padStart(6)}  ${k}`);
}
