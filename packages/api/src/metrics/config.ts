/**
 * Configuration of the metrics endpoint, read from the environment in one place and validated with zod:
 * which source/destination context labels Hubble metrics carry, the cardinality cap, the series TTL and the
 * optional scrape token.
 */
import { z } from 'zod';

/** Context options, named after Hubble's `labelsContext` labels (source_<x> / destination_<x>). */
export const CONTEXT_OPTIONS = ['namespace', 'workload', 'pod', 'ip'] as const;
export type ContextOption = (typeof CONTEXT_OPTIONS)[number];

const contextList = z
  .string()
  .trim()
  .transform((s) => (s === '' || s === 'none' ? [] : s.split(',').map((x) => x.trim())))
  .pipe(z.array(z.enum(CONTEXT_OPTIONS, { error: `each context must be one of ${CONTEXT_OPTIONS.join(', ')} (or "none")` })))
  .transform((list) => CONTEXT_OPTIONS.filter((o) => list.includes(o)));

const MetricsEnv = z.object({
  /** Comma-separated context labels on Hubble metrics, for both sides: namespace, workload, pod, ip, or "none". */
  SEXTANT_METRICS_CONTEXT: contextList.default(['namespace', 'workload']),
  /** When set, /api/metrics requires `Authorization: Bearer <token>`; unset, the endpoint is open. */
  SEXTANT_METRICS_TOKEN: z.string().min(16, 'SEXTANT_METRICS_TOKEN must be at least 16 characters').optional(),
  /** Maximum label sets per metric; samples for new label sets beyond it are counted as overflow and dropped. */
  SEXTANT_METRICS_MAX_SERIES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** A series not updated for this many seconds is removed (workloads that went away). */
  SEXTANT_METRICS_SERIES_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(7 * 86_400)
    .default(900),
});

export interface MetricsConfig {
  context: ContextOption[];
  token: string | undefined;
  maxSeriesPerMetric: number;
  seriesTtlMs: number;
}

export function parseMetricsConfig(env: Record<string, string | undefined>): MetricsConfig {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = MetricsEnv.safeParse(clean);
  if (!parsed.success) {
    throw new Error(`invalid metrics environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return {
    context: e.SEXTANT_METRICS_CONTEXT,
    token: e.SEXTANT_METRICS_TOKEN,
    maxSeriesPerMetric: e.SEXTANT_METRICS_MAX_SERIES,
    seriesTtlMs: e.SEXTANT_METRICS_SERIES_TTL_SECONDS * 1000,
  };
}

/** The context label names for a configuration, source side first (Hubble's naming). */
export function contextLabelNames(context: readonly ContextOption[]): string[] {
  return [...context.map((c) => `source_${c}`), ...context.map((c) => `destination_${c}`)];
}
