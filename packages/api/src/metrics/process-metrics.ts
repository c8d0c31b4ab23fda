/**
 * The process-wide metrics registry. Next.js bundles each route separately, so a module-level variable
 * would give /api/trpc (which feeds it) and /api/metrics (which renders it) different registries: the
 * instance lives on globalThis under a registry-wide symbol instead.
 */
import { parseMetricsConfig } from './config';
import { SextantMetrics } from './sextant-metrics';

const KEY = Symbol.for('sextant.metrics');
const g = globalThis as unknown as Record<symbol, SextantMetrics | undefined>;

export function processMetrics(): SextantMetrics {
  let m = g[KEY];
  if (!m) {
    m = new SextantMetrics(parseMetricsConfig(process.env), { processMetrics: true });
    g[KEY] = m;
  }
  return m;
}

/** Replaces the process registry (tests that need a specific configuration). */
export function setProcessMetrics(m: SextantMetrics | undefined): void {
  g[KEY] = m;
}

let warned = false;

/**
 * The ingest hook: feeds a stored batch into the process registry. A metrics misconfiguration must not fail
 * ingest, so it is reported once on stderr here (and on every scrape by /api/metrics) instead of thrown.
 */
export function recordStoredBatch(collector: string, batch: Parameters<SextantMetrics['recordBatch']>[1]): void {
  withProcessMetrics((m) => m.recordBatch(collector, batch));
}

/** Runs an update of the process registry; a metrics misconfiguration is reported once, never thrown. */
export function withProcessMetrics(update: (m: SextantMetrics) => void): void {
  try {
    update(processMetrics());
  } catch (err) {
    if (!warned) console.error(`metrics: ${(err as Error).message}`);
    warned = true;
  }
}
