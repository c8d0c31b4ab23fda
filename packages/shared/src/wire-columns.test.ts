import { describe, expect, it } from 'vitest';
import { FLOW_FIELDS, FLOW_IX, kindOf } from './flow-fields';
import { IngestBatch, WIRE_SCHEMA_VERSION } from './wire';
import { encodeFlowColumns, toMicrosecond } from './wire-columns';
import type { FlowRow } from './wire-compact';

const T0 = 1_764_000_000_000;
// Fractions that would round up to a whole ms (.9996: storage keeps 999 µs), down (.0004), and plain ones (an epoch-ms
// double resolves ~0.24 µs).
const FRACTIONS = [0, 0.9996, 0.0004, 0.001, 0.123, 0.25, 0.9994];

/** Rows as a collector's close workload makes them: client and server end of each connection, both on this host. */
function rows(n: number): FlowRow[] {
  const out: FlowRow[] = [];
  for (let i = 0; i < n; i++) {
    const server = i % 2 === 1;
    const t = T0 + Math.floor(i / 2) * 7 + FRACTIONS[i % FRACTIONS.length]!;
    const row: unknown[] = [
      crypto.randomUUID(),
      t,
      i === 5 ? null : t + 0.0521 + i * 3_600_000, // one open row; one end hours after the batch's first time
      null,
      i !== 3,
      'FORWARDED',
      null,
      'TCP',
      4,
      '127.0.0.1',
      30_000 + Math.floor(i / 2),
      server ? 1 : 0,
      '127.0.0.1',
      8080,
      server ? 0 : 1,
      15,
      server ? 'INGRESS' : 'EGRESS',
      false,
      120,
      853 + i,
      6,
      5,
      0,
      40 + (i % 3),
      server ? null : 51_000 + i,
      'CLOSED',
      true,
      server ? null : 'cleartext',
    ];
    expect(row).toHaveLength(FLOW_FIELDS.length);
    out.push(row as FlowRow);
  }
  return out;
}

const batch = (extra: Record<string, unknown>) => ({
  schemaVersion: WIRE_SCHEMA_VERSION,
  batchId: crypto.randomUUID(),
  sentAt: T0,
  nodeName: 'node-a',
  endpoints: [{ service: 'wrk' }, { service: 'nginx' }],
  ...extra,
});

/** The rows as storage keeps them: times at the microsecond. */
const atMicrosecond = (rs: FlowRow[]) =>
  rs.map((r) => r.map((v, k) => (kindOf(FLOW_FIELDS[k]!) === 'time' && typeof v === 'number' ? toMicrosecond(v) : v)));

describe('flow columns (batch schema 6)', () => {
  it('parse into the rows they were made from, times at the microsecond; shared values are sent once', () => {
    const rs = rows(600);
    const c = encodeFlowColumns(rs);
    expect(c.rows).toBe(600);
    expect(c.timeBase).toBe(T0);
    // constant columns are one value, the rest one value per row
    expect(c.columns[FLOW_IX.verdict]).toBe('FORWARDED');
    expect(c.columns[FLOW_IX.nodeName]).toBeNull();
    expect(c.columns[FLOW_IX.destinationPort]).toBe(8080);
    expect(c.columns[FLOW_IX.final]).toHaveLength(600);
    // ids one after the other in one string
    expect(c.columns[FLOW_IX.id]).toEqual({ width: 36, text: rs.map((r) => r[FLOW_IX.id]).join('') });
    // times: integer microseconds after timeBase
    expect((c.columns[FLOW_IX.time] as number[]).slice(0, 4)).toEqual([0, 999, 7000, 7001]);
    expect((c.columns[FLOW_IX.time] as number[]).every(Number.isInteger)).toBe(true);
    const parsed = IngestBatch.parse(JSON.parse(JSON.stringify(batch({ flowColumns: c }))));
    expect(parsed.flows).toEqual(atMicrosecond(rs));
    // the same rows sent as rows
    expect(IngestBatch.parse(JSON.parse(JSON.stringify(batch({ flows: atMicrosecond(rs) })))).flows).toEqual(parsed.flows);
    expect(JSON.stringify(c).length / JSON.stringify(rs).length).toBeLessThan(0.55);
  });

  it('rounds a time the way storage does: whole ms, then at most 999 µs', () => {
    expect(toMicrosecond(T0 + 0.9996)).toBe(T0 + 0.999);
    expect(toMicrosecond(T0 + 0.0004)).toBe(T0);
    expect(toMicrosecond(T0 + 0.25)).toBe(T0 + 0.25);
    const parsed = IngestBatch.parse(JSON.parse(JSON.stringify(batch({ flowColumns: encodeFlowColumns(rows(7)) }))));
    expect(parsed.flows.map((r) => Math.round((r[FLOW_IX.time] - T0 - Math.floor(r[FLOW_IX.time] - T0)) * 1000))).toEqual([
      0, 999, 0, 1, 123, 250, 999,
    ]);
  });

  it('a batch of one row, and a column every row shares, decode to that value in every row', () => {
    const one = rows(1);
    expect(IngestBatch.parse(JSON.parse(JSON.stringify(batch({ flowColumns: encodeFlowColumns(one) })))).flows).toEqual(atMicrosecond(one));
    const c = encodeFlowColumns(rows(4));
    expect(IngestBatch.parse(batch({ flowColumns: c })).flows.map((r) => r[FLOW_IX.l4Protocol])).toEqual(['TCP', 'TCP', 'TCP', 'TCP']);
  });

  it('refuses columns of the wrong length, rows and columns together, columns in schema 5, and more rows than a batch takes', () => {
    const c = encodeFlowColumns(rows(10));
    const shortCol = { ...c, columns: c.columns.map((col, k) => (k === FLOW_IX.bytesReceived ? (col as number[]).slice(1) : col)) };
    const bad = IngestBatch.safeParse(batch({ flowColumns: shortCol }));
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({
      path: ['flowColumns', 'columns', FLOW_IX.bytesReceived],
      message: 'bytesReceived: 9 values for 10 rows',
    });
    const ids = c.columns[FLOW_IX.id] as { width: number; text: string };
    for (const bad of [
      { ...ids, text: ids.text.slice(1) },
      { ...ids, width: 0 },
      { ...ids, width: 37 },
    ]) {
      const badIds = IngestBatch.safeParse(
        batch({ flowColumns: { ...c, columns: c.columns.map((col, k) => (k === FLOW_IX.id ? bad : col)) } }),
      );
      expect(badIds.error?.issues[0]).toMatchObject({ path: ['flowColumns', 'columns', FLOW_IX.id] });
    }
    // ids of another width are checked as ids
    const short = c.columns.map((col, k) => (k === FLOW_IX.id ? { width: 2, text: 'ab'.repeat(10) } : col));
    expect(IngestBatch.safeParse(batch({ flowColumns: { ...c, columns: short } })).error?.issues[0]?.path).toEqual([
      'flows',
      0,
      FLOW_IX.id,
    ]);
    expect(IngestBatch.safeParse(batch({ flowColumns: c, flows: [] })).error?.issues[0]?.path).toEqual(['flowColumns']);
    expect(IngestBatch.safeParse(batch({ schemaVersion: 5, flowColumns: c })).error?.issues[0]?.path).toEqual(['flowColumns']);
    expect(IngestBatch.safeParse(batch({ flowColumns: { ...c, columns: c.columns.slice(1) } })).success).toBe(false);
    const many = { rows: 20_001, timeBase: T0, columns: FLOW_FIELDS.map(() => null) };
    expect(IngestBatch.safeParse(batch({ flowColumns: many })).error?.issues[0]?.path).toEqual(['flowColumns', 'rows']);
  });

  it('reports a bad value as the row and field it lands in, as for rows', () => {
    const c = encodeFlowColumns(rows(10));
    (c.columns[FLOW_IX.sourcePort] as number[])[7] = 70_000;
    const r = IngestBatch.safeParse(batch({ flowColumns: c }));
    expect(r.error?.issues[0]?.path).toEqual(['flows', 7, FLOW_IX.sourcePort]);
    // a constant column that is not a valid value: every row's (the first reported)
    const k = encodeFlowColumns(rows(10));
    k.columns[FLOW_IX.verdict] = 'MAYBE';
    expect(IngestBatch.safeParse(batch({ flowColumns: k })).error?.issues[0]?.path).toEqual(['flows', 0, FLOW_IX.verdict]);
  });
});
