import { describe, expect, it } from 'vitest';
import { contextLabelNames, parseMetricsConfig } from './config';

describe('parseMetricsConfig', () => {
  it('defaults to workload-level context', () => {
    const c = parseMetricsConfig({});
    expect(c).toEqual({ context: ['namespace', 'workload'], token: undefined, maxSeriesPerMetric: 10_000, seriesTtlMs: 900_000 });
    expect(contextLabelNames(c.context)).toEqual(['source_namespace', 'source_workload', 'destination_namespace', 'destination_workload']);
  });

  it('accepts a list in any order, "none", and numbers as strings', () => {
    expect(parseMetricsConfig({ SEXTANT_METRICS_CONTEXT: 'ip, workload' }).context).toEqual(['workload', 'ip']);
    expect(parseMetricsConfig({ SEXTANT_METRICS_CONTEXT: 'none' }).context).toEqual([]);
    expect(parseMetricsConfig({ SEXTANT_METRICS_MAX_SERIES: '50', SEXTANT_METRICS_SERIES_TTL_SECONDS: '60' })).toMatchObject({
      maxSeriesPerMetric: 50,
      seriesTtlMs: 60_000,
    });
  });

  it('rejects bad values with a message naming the variable', () => {
    expect(() => parseMetricsConfig({ SEXTANT_METRICS_CONTEXT: 'workload,labels' })).toThrow(
      /SEXTANT_METRICS_CONTEXT.*one of namespace, workload, pod, ip/,
    );
    expect(() => parseMetricsConfig({ SEXTANT_METRICS_MAX_SERIES: 'lots' })).toThrow(/SEXTANT_METRICS_MAX_SERIES/);
    expect(() => parseMetricsConfig({ SEXTANT_METRICS_TOKEN: 'short' })).toThrow(/at least 16 characters/);
  });
});
