/** bucketIndexSql on real PostgreSQL gives bucketIndex's bucket for every value, next to powers of two too. */
import { bucketIndex } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testServerUrl, type TestDatabase } from '../testing';
import { bucketIndexSql } from './bucket-sql';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
});
afterAll(async () => db?.close());

describe('histogram bucket in SQL', () => {
  it('equals bucketIndex from 0 ns to past the last bucket', async () => {
    const values = [0, 1, 7, 15, 16, 17, 31, 32, 33, 801_000_000, 2 ** 44 - 1, 2 ** 44, 2 ** 50, 2 ** 53 - 1];
    for (let e = 4; e <= 45; e++) values.push(2 ** e - 1, 2 ** e, 2 ** e + 1, Math.floor(2 ** e * 1.4999));
    // A deterministic spread: 1 µs to ~1 h in 997 steps of a growing ratio.
    for (let i = 0, v = 1_000; i < 997; i++, v = Math.floor(v * 1.0233) + 7) values.push(v);
    const r = await db.pool.query<{ v: string; b: number | null }>(
      `SELECT v::text AS v, ${bucketIndexSql('v')} AS b FROM unnest($1::bigint[]) AS v ORDER BY v`,
      [values.map(String)],
    );
    expect(r.rows).toHaveLength(values.length);
    const mismatches = r.rows.filter((row) => row.b !== bucketIndex(Number(row.v)));
    expect(mismatches).toEqual([]);
    const nul = await db.pool.query(`SELECT ${bucketIndexSql('v')} AS b FROM (SELECT NULL::bigint AS v) x`);
    expect(nul.rows[0].b).toBeNull();
  });
});
