/** Test helper: series totals read from a Prometheus text exposition, or from the process registry's. */
import { processMetrics } from '../metrics/process-metrics';

/** The total of metric `name`'s series (labelled or not) whose line includes every one of `having`. */
export function seriesTotal(text: string, name: string, ...having: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!having.every((l) => line.includes(l))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** {@link seriesTotal} over what /api/metrics would answer now (the process registry). */
export async function metricTotal(name: string, ...having: string[]): Promise<number> {
  return seriesTotal(await processMetrics().render(), name, ...having);
}
