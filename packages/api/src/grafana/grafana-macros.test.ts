import { describe, expect, it } from 'vitest';
import { grafanaSql, interpolatePromql } from './grafana-macros';

const ctx = {
  from: new Date('2026-11-25T10:00:00Z'),
  to: new Date('2026-11-25T11:00:00Z'),
  interval: '5m',
  vars: { service: ['payments', "o'hare"], namespace: ['shop'] },
};

describe('Grafana query expansion', () => {
  it('expands SQL variables and PostgreSQL macros as Grafana does', () => {
    const sql =
      'SELECT $__timeGroupAlias(bucket, $__interval), sum(x) / ($__interval_ms / 1000.0) FROM t WHERE $__timeFilter(bucket) AND s IN ($service) AND n IN (${namespace})';
    expect(grafanaSql(sql, ctx)).toBe(
      `SELECT floor(extract(epoch from bucket)/300)*300 AS "time", sum(x) / (300000 / 1000.0) FROM t WHERE bucket BETWEEN '2026-11-25T10:00:00.000Z' AND '2026-11-25T11:00:00.000Z' AND s IN ('payments','o''hare') AND n IN ('shop')`,
    );
  });

  it('interpolates PromQL variables as regex alternations and the range variables', () => {
    expect(interpolatePromql('rate(m{a=~"$service",b=~"$namespace"}[$__rate_interval]) / increase(m[$__range])', ctx)).toBe(
      'rate(m{a=~"(payments|o\'hare)",b=~"shop"}[5m]) / increase(m[3600s])',
    );
    expect(interpolatePromql('m{a=~"$service"}', { ...ctx, vars: { service: ['a.b'] } })).toBe('m{a=~"a\\\\.b"}');
  });
});
