/** The collector's configuration: the L7 mode, record budget and slow threshold from the environment. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './env';

const base = { SEXTANT_SERVER: 'http://127.0.0.1:3000', SEXTANT_TOKEN: `sxc_${'a'.repeat(24)}` };

describe('collector configuration', () => {
  it('defaults to signals mode, 500 records/s, 250 ms slow, control every 2 s', () => {
    const c = loadConfig([], base);
    expect([c.l7Mode, c.l7RecordBudget, c.l7SlowMs, c.controlIntervalMs]).toEqual(['signals', 500, 250, 2_000]);
  });

  it('reads SEXTANT_L7_MODE, SEXTANT_L7_RECORD_BUDGET and SEXTANT_L7_SLOW_MS', () => {
    const c = loadConfig([], { ...base, SEXTANT_L7_MODE: 'full', SEXTANT_L7_RECORD_BUDGET: '50', SEXTANT_L7_SLOW_MS: '1000' });
    expect([c.l7Mode, c.l7RecordBudget, c.l7SlowMs]).toEqual(['full', 50, 1000]);
    expect(loadConfig([], { ...base, SEXTANT_L7_MODE: 'hooks', SEXTANT_L7_RECORD_BUDGET: '0' })).toMatchObject({
      l7Mode: 'hooks',
      l7RecordBudget: 0,
    });
  });

  it('refuses an unknown mode, a negative budget and a zero threshold, naming the setting', () => {
    expect(() => loadConfig([], { ...base, SEXTANT_L7_MODE: 'fast' })).toThrow(/l7Mode/);
    expect(() => loadConfig([], { ...base, SEXTANT_L7_RECORD_BUDGET: '-1' })).toThrow(/l7RecordBudget/);
    expect(() => loadConfig([], { ...base, SEXTANT_L7_SLOW_MS: '0' })).toThrow(ConfigError);
  });

  it('reads SEXTANT_L7_RING_MB (a power of two; unset: the probes size the ring by mode)', () => {
    expect(loadConfig([], base).l7RingMb).toBeUndefined();
    expect(loadConfig([], { ...base, SEXTANT_L7_RING_MB: '8' }).l7RingMb).toBe(8);
    expect(() => loadConfig([], { ...base, SEXTANT_L7_RING_MB: '12' })).toThrow(/l7RingMb: must be a power of two/);
    expect(() => loadConfig([], { ...base, SEXTANT_L7_RING_MB: '512' })).toThrow(/l7RingMb/);
  });

  it('reads SEXTANT_L7_MAX_LAG_MS (default 2 s; 0 = never shed)', () => {
    expect(loadConfig([], base).l7MaxLagMs).toBe(2_000);
    expect(loadConfig([], { ...base, SEXTANT_L7_MAX_LAG_MS: '0' }).l7MaxLagMs).toBe(0);
    expect(loadConfig([], { ...base, SEXTANT_L7_MAX_LAG_MS: '5000' }).l7MaxLagMs).toBe(5_000);
    expect(() => loadConfig([], { ...base, SEXTANT_L7_MAX_LAG_MS: '50' })).toThrow(/l7MaxLagMs/);
  });

  it('reads SEXTANT_L7_MAX_HEAP_MB (default 40; 0 = never shed for memory)', () => {
    expect(loadConfig([], base).l7MaxHeapMb).toBe(40);
    expect(loadConfig([], { ...base, SEXTANT_L7_MAX_HEAP_MB: '0' }).l7MaxHeapMb).toBe(0);
    expect(loadConfig([], { ...base, SEXTANT_L7_MAX_HEAP_MB: '128' }).l7MaxHeapMb).toBe(128);
    expect(() => loadConfig([], { ...base, SEXTANT_L7_MAX_HEAP_MB: '8' })).toThrow(/l7MaxHeapMb/);
  });
});
