/**
 * The shared part of the ingest rollups (edge_minute, latency_minute, l7_coverage_minute, l7_record_minute): rows
 * accumulated in memory by (bucket, key parts), handed out in one global key order, and written with one
 * parameterised multi-row INSERT … ON CONFLICT DO UPDATE that adds the batch's counts to the stored ones.
 * The statement is built once per table from identifiers fixed in code (checked here); row values travel only as
 * the one JSON parameter.
 */
import type pg from 'pg';

/** Rows of one batch keyed by bucket and key parts. */
export class KeyedRows<R extends { bucket: number }> {
  private readonly rows = new Map<string, R>();

  /** The row of (bucket, parts), made by `create` the first time it is asked for. */
  get(bucket: number, parts: readonly string[], create: () => R): R {
    const key = `${String(bucket).padStart(15, '0')}|${parts.join('|')}`;
    let r = this.rows.get(key);
    if (!r) {
      r = create();
      this.rows.set(key, r);
    }
    return r;
  }

  /** The rows in key order: concurrent batches upsert in one global order, so they cannot deadlock on each other. */
  sorted(): R[] {
    return [...this.rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }
}

type SqlType = 'text' | 'bigint' | 'double precision';
type Column = readonly [name: string, type: SqlType];

export interface UpsertSpec<R> {
  table: string;
  /** The conflict key after `bucket` (a millisecond epoch in the payload, a timestamptz in the table). */
  keys: readonly Column[];
  /** Columns added to the stored row on conflict. */
  sums: readonly Column[];
  /** hist_idx/hist_cnt, merged on conflict by sextant_hist_merge. */
  hist?: boolean;
  /** A row's JSON payload: `bucket` and every column named above, by column name. */
  payload: (r: R) => Record<string, unknown>;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`keyed-upsert: not a plain identifier: ${JSON.stringify(name)}`);
  return name;
}

/** The statement for a spec: only its fixed identifiers and types are spliced in. */
export function upsertSql(spec: Pick<UpsertSpec<unknown>, 'table' | 'keys' | 'sums' | 'hist'>): string {
  const cols: Column[] = [...spec.keys, ...spec.sums];
  const names = cols.map(([n]) => ident(n));
  const hist = spec.hist ? ['hist_idx', 'hist_cnt'] : [];
  const defs = ['bucket bigint', ...cols.map(([n, t]) => `${n} ${t}`), ...(spec.hist ? ['hist_idx smallint[]', 'hist_cnt bigint[]'] : [])];
  const sets = [
    ...spec.sums.map(([n]) => `${n} = t.${n} + EXCLUDED.${n}`),
    ...(spec.hist
      ? [
          '(hist_idx, hist_cnt) = (SELECT m.idx, m.cnt FROM sextant_hist_merge(t.hist_idx, t.hist_cnt, EXCLUDED.hist_idx, EXCLUDED.hist_cnt) m)',
        ]
      : []),
  ];
  return `INSERT INTO ${ident(spec.table)} AS t (bucket, ${[...names, ...hist].join(', ')})
  SELECT to_timestamp(r.bucket / 1000.0), ${[...names, ...hist].map((n) => `r.${n}`).join(', ')}
    FROM jsonb_to_recordset($1::jsonb) AS r(${defs.join(', ')})
  ON CONFLICT (bucket, ${spec.keys.map(([n]) => n).join(', ')}) DO UPDATE SET
    ${sets.join(',\n    ')}`;
}

/** An upsert for a spec: writes rows (already in key order) in one statement on the batch's client. */
export function keyedUpsert<R>(spec: UpsertSpec<R>): (client: pg.PoolClient, rows: readonly R[]) => Promise<void> {
  const sql = upsertSql(spec);
  return async (client, rows) => {
    if (rows.length === 0) return;
    await client.query(sql, [JSON.stringify(rows.map(spec.payload))]);
  };
}

/** The service pair columns every ingest rollup is keyed by after its bucket. */
export const SERVICE_PAIR: readonly Column[] = [
  ['src_namespace', 'text'],
  ['src_service', 'text'],
  ['dst_namespace', 'text'],
  ['dst_service', 'text'],
];
