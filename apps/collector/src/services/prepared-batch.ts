/** A batch serialized once for the wire: what the shipper queues, sends, spools and re-sends. */
import type {
  CollectorHealthReportInput,
  FlowInput,
  HistogramSample,
  L7AggregateInput,
  L7EventInput,
  PendingFlowRow,
} from '@sextant/shared';
import { BatchEncoder, encodeFlowColumns, FLOW_IX, WIRE_SCHEMA_VERSION } from '@sextant/shared';

export interface PreparedBatch {
  batchId: string;
  /** The ingest procedure's input: JSON, UTF-8. */
  body: Buffer;
  /** Flows + L7 events + L7 aggregates in it (for statistics and the spool's drop count). */
  records: number;
}

export interface BatchContent {
  batchId: string;
  sentAt: number;
  flows: FlowInput[];
  /** Flows built as rows (TCP connections); taken over by prepareBatch. */
  flowRows?: PendingFlowRow[];
  l7?: L7EventInput[];
  histograms?: HistogramSample[];
  /** Kernel-counted HTTP exchanges (signals mode). */
  l7Aggregates?: L7AggregateInput[];
  health?: CollectorHealthReportInput;
}

/**
 * Serializes a batch in the wire schema (packages/shared wire.ts): flows as columns (wire-columns.ts: a value all
 * rows share once, times as small integers, ids as one string) and L7 events with their endpoints as refs into one table, each
 * endpoint identity once. Row-built flows come first. `nodeName` is the batch's node name (rows carry null for
 * it). The body is exactly `JSON.stringify` of the batch object (tested), flows as `encodeFlowColumns` gives them.
 */
export function prepareBatch(b: BatchContent, opts: { nodeName?: string } = {}): PreparedBatch {
  const rows = b.flowRows ?? [];
  const records = rows.length + b.flows.length + (b.l7?.length ?? 0) + (b.l7Aggregates?.length ?? 0);
  const out = new JsonParts();
  const nodeName = opts.nodeName ?? b.flows[0]?.nodeName ?? rows[0]?.[FLOW_IX.nodeName] ?? '';
  const encoder = new BatchEncoder(nodeName);
  for (const r of rows) encoder.addPending(r);
  for (const f of b.flows) encoder.addFlow(f);
  // the L7 events' identities join the table before it is written
  const l7 = b.l7?.map((e) => encoder.l7(e));
  const aggregates = b.l7Aggregates?.length ? b.l7Aggregates.map((a) => encoder.l7Aggregate(a)) : undefined;
  out.text(
    `{"schemaVersion":${WIRE_SCHEMA_VERSION},"batchId":${JSON.stringify(b.batchId)},"sentAt":${JSON.stringify(b.sentAt)},"nodeName":${JSON.stringify(nodeName)},"endpoints":`,
  );
  out.array(encoder.endpoints);
  if (encoder.rows.length) {
    // (as rows this was the collector's largest cost: every row's constants again, two fractional times)
    const c = encodeFlowColumns(encoder.rows);
    out.text(`,"flowColumns":{"rows":${c.rows},"timeBase":${c.timeBase},"columns":[`);
    c.columns.forEach((col, k) => {
      if (k > 0) out.text(',');
      if (Array.isArray(col)) out.array(col);
      else out.text(JSON.stringify(col));
    });
    out.text(']}');
  }
  if (l7) {
    out.text(',"l7":');
    out.array(l7);
  }
  if (aggregates) {
    out.text(',"l7Aggregates":');
    out.array(aggregates);
  }
  if (b.histograms) out.text(`,"histograms":${JSON.stringify(b.histograms)}`);
  if (b.health) out.text(`,"health":${JSON.stringify(b.health)}`);
  out.text('}');
  return { batchId: b.batchId, body: out.concat(), records };
}

const [OPEN, COMMA, CLOSE] = ['[', ',', ']'].map((c) => Buffer.from(c)) as [Buffer, Buffer, Buffer];

/**
 * Builds a JSON body from pieces, arrays serialized a slice at a time. One JSON.stringify of a whole batch
 * makes a string of hundreds of KB, which V8 allocates in its large-object space and flattens on first
 * access; measured here that costs ~3× as much per flow as slices of < 128 KB each (bench:collector).
 */
class JsonParts {
  private readonly parts: Buffer[] = [];
  private bytes = 0;
  /** Items per slice, adapted so that each slice's JSON stays near TARGET_CHARS. */
  private slice = 64;
  private static readonly TARGET_CHARS = 64 * 1024;

  text(s: string): void {
    this.push(Buffer.from(s));
  }

  array(items: readonly unknown[]): void {
    if (items.length === 0) return this.text('[]');
    this.push(OPEN);
    this.slice = 64; // (the last array's items may have been far smaller)
    for (let i = 0; i < items.length;) {
      const n = Math.min(this.slice, items.length - i);
      const json = JSON.stringify(items.slice(i, i + n));
      if (i > 0) this.push(COMMA);
      const buf = Buffer.from(json);
      this.push(buf.subarray(1, buf.length - 1)); // without the slice's own brackets
      i += n;
      const perItem = json.length / n;
      this.slice = Math.max(1, Math.floor(JsonParts.TARGET_CHARS / perItem));
    }
    this.push(CLOSE);
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.bytes += b.length;
  }

  concat(): Buffer {
    return Buffer.concat(this.parts, this.bytes);
  }
}
