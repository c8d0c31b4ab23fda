/**
 * What the spool keeps of a batch when it needs room: its aggregate parts, under the same batch id. Records (flows,
 * L7 records) are many per batch and each is one record among many; the kernel's L7 aggregates and the latency
 * histograms are the only count of what they counted, and the health report is one small point of the
 * collector's own history. A batch compacted this way is the same batch to the server (one receipt per batch id,
 * packages/db store-batch.ts): if the whole batch was stored before (a timeout that hid the answer), the
 * compacted one is a duplicate and adds nothing; if not, its aggregates are stored and its records never.
 */

/** A spooled body's parts, as counted for the spool's statistics. */
export interface BatchParts {
  /** Flows and L7 records: what compaction sheds. */
  records: number;
  /** Kernel L7 aggregate rows, and the exchanges they count (the sum of their `count`s). */
  aggregates: number;
  exchanges: number;
  /** Latency histogram samples, and the observations they count. */
  histograms: number;
  observations: number;
  health: boolean;
}

export interface Compacted extends BatchParts {
  /** The batch without its records; null when nothing is left worth sending (it held records only). */
  body: Buffer | null;
}

type Ref = [string, number | null, number | null];
interface AggregateRow {
  source: Ref;
  destination: Ref;
  count?: number;
}
interface BatchJson {
  endpoints?: unknown[];
  flows?: unknown[];
  flowColumns?: { rows?: number };
  l7?: unknown[];
  l7Aggregates?: AggregateRow[];
  histograms?: { cnt?: number[] }[];
  health?: unknown;
  [key: string]: unknown;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function partsOf(b: BatchJson): BatchParts {
  const aggregates = b.l7Aggregates ?? [];
  const histograms = b.histograms ?? [];
  return {
    records: (b.flowColumns?.rows ?? b.flows?.length ?? 0) + (b.l7?.length ?? 0),
    aggregates: aggregates.length,
    exchanges: sum(aggregates.map((a) => a.count ?? 0)),
    histograms: histograms.length,
    observations: sum(histograms.map((h) => sum(h.cnt ?? []))),
    health: b.health !== undefined,
  };
}

/** The parts of a spooled body (wire schema 5 or 6). Throws when it is not JSON. */
export function batchParts(body: Buffer): BatchParts {
  return partsOf(JSON.parse(body.toString('utf8')) as BatchJson);
}

/**
 * The body without its flows and L7 records, its endpoint table cut to the identities its aggregates refer to
 * (renumbered); every other field as it was. A body without records comes back as it is. Throws when not JSON.
 */
export function compactBatch(body: Buffer): Compacted {
  const b = JSON.parse(body.toString('utf8')) as BatchJson;
  const parts = partsOf(b);
  if (parts.records === 0) return { ...parts, body };
  if (!parts.aggregates && !parts.histograms && !parts.health) return { ...parts, body: null };
  const { flows: _flows, flowColumns: _columns, l7: _l7, endpoints, l7Aggregates, ...rest } = b;
  const kept: unknown[] = [];
  const renumbered = new Map<number, number>();
  const ref = (r: number | null): number | null => {
    if (r === null) return null;
    let n = renumbered.get(r);
    if (n === undefined) {
      n = kept.push(endpoints?.[r]) - 1;
      renumbered.set(r, n);
    }
    return n;
  };
  const aggregates = l7Aggregates?.map((a) => ({
    ...a,
    source: [a.source[0], a.source[1], ref(a.source[2])],
    destination: [a.destination[0], a.destination[1], ref(a.destination[2])],
  }));
  const out = { ...rest, endpoints: kept, ...(aggregates ? { l7Aggregates: aggregates } : {}) };
  return { ...parts, body: Buffer.from(JSON.stringify(out)) };
}
