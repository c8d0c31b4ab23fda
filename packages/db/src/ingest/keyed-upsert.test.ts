import { describe, expect, it } from 'vitest';
import { KeyedRows, SERVICE_PAIR, upsertSql } from './keyed-upsert';

describe('keyed rollup rows and their upsert statement', () => {
  it('accumulates one row per (bucket, parts) and hands rows out in bucket order, then key order', () => {
    const rows = new KeyedRows<{ bucket: number; name: string; n: number }>();
    const add = (bucket: number, name: string) => rows.get(bucket, ['ns', name], () => ({ bucket, name, n: 0 })).n++;
    add(120_000, 'b');
    add(60_000, 'z');
    add(120_000, 'a');
    add(120_000, 'b');
    add(600_000, 'a');
    // As text '60000' > '120000': buckets are zero-padded in the key, so 60000 still comes first.
    expect(rows.sorted().map((r) => [r.bucket, r.name, r.n])).toEqual([
      [60_000, 'z', 1],
      [120_000, 'a', 1],
      [120_000, 'b', 2],
      [600_000, 'a', 1],
    ]);
  });

  it('builds the statement from fixed identifiers only, adding sums on conflict', () => {
    const sql = upsertSql({ table: 'l7_coverage_minute', keys: [...SERVICE_PAIR, ['class', 'text']], sums: [['connections', 'bigint']] });
    expect(sql).toContain('ON CONFLICT (bucket, src_namespace, src_service, dst_namespace, dst_service, class) DO UPDATE SET');
    expect(sql).toContain('connections = t.connections + EXCLUDED.connections');
    expect(sql).not.toContain('hist_idx');
    expect(() => upsertSql({ table: 'edge_minute; DROP TABLE flows', keys: SERVICE_PAIR, sums: [] })).toThrow(/not a plain identifier/);
    expect(() => upsertSql({ table: 'edge_minute', keys: [['Src"', 'text']], sums: [] })).toThrow(/not a plain identifier/);
  });
});
