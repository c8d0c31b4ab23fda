import { afterEach, describe, expect, it, vi } from 'vitest';
import { knownTraffic } from '../testing/traffic-fixtures';
import { metricsResponse } from './http';

const KEY = Symbol.for('sextant.metrics');
const env = { ...process.env };

afterEach(() => {
  process.env = { ...env };
  delete (globalThis as Record<symbol, unknown>)[KEY];
});

/** A database stand-in is enough here: metricsResponse only lists collectors, and must survive a failing database. */
const deadDb = { prisma: { collector: { findMany: () => Promise.reject(new Error('database down')) } } } as never;

describe('process metrics registry', () => {
  it('is one instance across separately loaded copies of the module (Next.js bundles each route)', async () => {
    const a = await import('./process-metrics');
    vi.resetModules();
    const b = await import('./process-metrics');
    expect(b).not.toBe(a);
    expect(b.processMetrics()).toBe(a.processMetrics());
    a.recordStoredBatch('host-1', knownTraffic());
    const text = await b.processMetrics().render();
    expect(text).toContain('sextant_ingest_batches_total{collector="host-1"} 1');
  });

  it('serves the in-memory metrics when the database is down', async () => {
    const { processMetrics } = await import('./process-metrics');
    const res = await metricsResponse(deadDb, processMetrics, null);
    expect(res.status).toBe(200);
    expect(res.body).toContain('# TYPE hubble_flows_processed_total counter');
  });

  it('a bad metrics environment fails the scrape with its reason, never ingest', async () => {
    process.env.SEXTANT_METRICS_CONTEXT = 'workload,labels';
    const { processMetrics, recordStoredBatch } = await import('./process-metrics');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => recordStoredBatch('host-1', knownTraffic())).not.toThrow();
    expect(errors).toHaveBeenCalledWith(expect.stringMatching(/SEXTANT_METRICS_CONTEXT/));
    const res = await metricsResponse(deadDb, processMetrics, null);
    expect(res.status).toBe(500);
    expect(res.body).toMatch(/invalid metrics environment: SEXTANT_METRICS_CONTEXT/);
    errors.mockRestore();
  });
});
