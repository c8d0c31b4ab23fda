import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS } from './sextant-metrics';
import { WeightedHistogram } from './weighted-histogram';

const LABELS = ['method', 'reporter'];

describe('WeightedHistogram', () => {
  it('renders exactly what prom-client renders for the same observations, one at a time or weighted', async () => {
    const values = [0.001, 0.005, 0.0051, 0.02, 0.3, 0.3, 4, 12];
    const ours = new Registry();
    const theirs = new Registry();
    const w = new WeightedHistogram('d_seconds', 'help text', LABELS, DURATION_BUCKETS, [ours]);
    const p = new Histogram({ name: 'd_seconds', help: 'help text', labelNames: LABELS, buckets: DURATION_BUCKETS, registers: [theirs] });
    for (const v of values) {
      w.observe({ method: 'GET', reporter: 'client' }, [[v, 1]]);
      p.observe({ method: 'GET', reporter: 'client' }, v);
    }
    w.observe({ method: 'POST', reporter: 'server' }, [[0.3, 3]]);
    for (let i = 0; i < 3; i++) p.observe({ method: 'POST', reporter: 'server' }, 0.3);
    expect(await ours.metrics()).toBe(await theirs.metrics());

    w.remove({ method: 'GET', reporter: 'client' });
    p.remove({ method: 'GET', reporter: 'client' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('counts weighted observations per bucket and keeps the exact sum it is given', async () => {
    const r = new Registry();
    const w = new WeightedHistogram('d_seconds', 'h', LABELS, DURATION_BUCKETS, [r]);
    // 1000 at 5 ms, 7 at 40 ms, 3 at 1.2 s (sum not given: Σ value × times = 8.88 s), then 2 at 40 ms whose exact sum is 0.07 s
    w.observe({ method: 'GET', reporter: 'client' }, [
      [0.005, 1000],
      [0.04, 7],
      [1.2, 3],
    ]);
    w.observe({ method: 'GET', reporter: 'client' }, [[0.04, 2]], 0.07);
    const text = await r.metrics();
    const v = (series: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.split(' ')[1],
      );
    expect(v('d_seconds_bucket{le="0.005",method="GET",reporter="client"}')).toBe(1000);
    expect(v('d_seconds_bucket{le="0.025",method="GET",reporter="client"}')).toBe(1000);
    expect(v('d_seconds_bucket{le="0.05",method="GET",reporter="client"}')).toBe(1009);
    expect(v('d_seconds_bucket{le="2.5",method="GET",reporter="client"}')).toBe(1012);
    expect(v('d_seconds_bucket{le="+Inf",method="GET",reporter="client"}')).toBe(1012);
    expect(v('d_seconds_count{method="GET",reporter="client"}')).toBe(1012);
    expect(v('d_seconds_sum{method="GET",reporter="client"}')).toBeCloseTo(8.95, 9);
  });

  it('refuses a label it was not given and a value that is no number', () => {
    const w = new WeightedHistogram('d_seconds', 'h', LABELS, DURATION_BUCKETS, []);
    expect(() => w.observe({ path: '/' }, [[1, 1]])).toThrow('label "path" is not one of method, reporter');
    expect(() => w.observe({ method: 'GET' }, [[Number.NaN, 1]])).toThrow('cannot observe NaN × 1');
  });
});
