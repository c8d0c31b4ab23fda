/** Prometheus metrics: Hubble-compatible metrics fed by ingest, collector health and Sextant's own counters. */
export { CONTEXT_OPTIONS, contextLabelNames, parseMetricsConfig, type ContextOption, type MetricsConfig } from './config';
export { HUBBLE_METRICS, hubbleSamples, type HubbleSample } from './hubble-samples';
export { metricsResponse, type MetricsResponse } from './http';
export { processMetrics, recordStoredBatch, setProcessMetrics, withProcessMetrics } from './process-metrics';
export { SextantMetrics } from './sextant-metrics';
