/**
 * Validated batch rows → COPY text of the flows and l7_events tables, with no flow objects in between. The
 * flow columns come from FLOW_FIELDS (packages/shared flow-fields.ts), in its order; an endpoint ref becomes
 * its identity's columns, formatted once per batch (`BatchEndpoints`) and reused by every row that refers to it.
 */
import type { EndpointIdentity, Flow, FlowRow, IngestBatch, L7Event, L7EventRow } from '@sextant/shared';
import { FLOW_FIELDS, FLOW_IX, isSanitizedRecord, kindOf, l7StatusClass, tcpFlagList, withSanitizedLabel } from '@sextant/shared';
import { type CopyValue, copyField, isoTime } from './copy-text';

/** An endpoint identity's columns, after `src_` / `dst_`, as flows store them (l7_events: no pid). */
const IDENTITY_COLUMNS = ['service', 'namespace', 'pod', 'process', 'pid', 'names', 'extra'] as const;
const L7_IDENTITY_COLUMNS = IDENTITY_COLUMNS.filter((c) => c !== 'pid');

const sideColumns = (prefix: string, columns: readonly string[]) => columns.map((c) => `${prefix}_${c}`);

/** COPY columns of flows: the batch's own, then FLOW_FIELDS in order (a ref: its identity's columns). */
export const FLOW_COLUMNS: readonly string[] = [
  'collector_id',
  'batch_id',
  ...FLOW_FIELDS.flatMap((f) => (kindOf(f) === 'ref' ? sideColumns(f.column, IDENTITY_COLUMNS) : [f.column])),
];

/** COPY columns of l7_events, in the order l7Copy writes them. */
export const L7_COLUMNS: readonly string[] = [
  'collector_id',
  'batch_id',
  'time',
  'event_id',
  'flow_id',
  'node_name',
  'type',
  'protocol',
  'latency_ns',
  'src_ip',
  'src_port',
  ...sideColumns('src', L7_IDENTITY_COLUMNS),
  'dst_ip',
  'dst_port',
  ...sideColumns('dst', L7_IDENTITY_COLUMNS),
  'http_method',
  'http_path',
  'http_code',
  'dns_query',
  'dns_rcode',
  'kafka_api_key',
  'kafka_topic',
  'kafka_error_code',
  'status_class',
  'detail',
  'sampling',
  'tls',
];

/** A tcp_flags column → the flags (readers: queries/read-rows.ts). */
export function tcpFlagsFromMask(mask: number): Flow['tcpFlags'] {
  return tcpFlagList(mask);
}

/** The parts of an endpoint identity that have no column of their own (src_extra / dst_extra). */
export function endpointExtra(e: Partial<EndpointIdentity> & { ip?: string; port?: number }): Record<string, unknown> | null {
  const { ip: _ip, port: _port, service: _s, namespace: _n, podName: _p, names: _names, process, ...rest } = e;
  const extra: Record<string, unknown> = { ...rest };
  if (process?.exe) extra.exe = process.exe;
  for (const k of Object.keys(extra)) if (extra[k] === undefined) delete extra[k];
  return Object.keys(extra).length ? extra : null;
}

export interface RowContext {
  collectorId: string;
  batchId: string;
}

const NULL = '\\N';
const NO_IDENTITY: EndpointIdentity = {};

/**
 * A batch's endpoint identities as COPY text, each formatted once when first used: the identity columns of
 * a flow row (with pid) and of an L7 row (without), and the same with SANITIZED_LABEL in `extra` for the
 * source of a record stored marked. Also what rollups read of them.
 */
export class BatchEndpoints {
  // by variant (pid × marked), then ref + 1 (0: no identity)
  private readonly texts: (string | undefined)[][] = [[], [], [], []];

  constructor(private readonly endpoints: readonly EndpointIdentity[]) {}

  identity(ref: number | null): EndpointIdentity {
    return ref === null ? NO_IDENTITY : this.endpoints[ref]!;
  }

  /** Identity columns as tab-separated text (IDENTITY_COLUMNS, or L7_IDENTITY_COLUMNS without `pid`). */
  text(ref: number | null, pid: boolean, marked: boolean): string {
    const cache = this.texts[(pid ? 2 : 0) + (marked ? 1 : 0)]!;
    const at = ref === null ? 0 : ref + 1;
    let t = cache[at];
    if (t === undefined) {
      const e = this.identity(ref);
      const labelled = marked ? { ...e, labels: withSanitizedLabel(e.labels) } : e;
      const values = [
        e.service,
        e.namespace,
        e.podName,
        e.process?.name,
        ...(pid ? [e.process?.pid] : []),
        e.names,
        endpointExtra(labelled),
      ];
      t = values.map(copyField).join('\t');
      cache[at] = t;
    }
    return t;
  }
}

/** A writer of one batch's flow rows as COPY text lines (FLOW_COLUMNS). */
export function flowCopyWriter(
  batch: Pick<IngestBatch, 'nodeName' | 'endpoints'>,
  ctx: RowContext,
  ends = new BatchEndpoints(batch.endpoints),
): (row: FlowRow) => string {
  const head = `${copyField(ctx.collectorId)}\t${copyField(ctx.batchId)}`;
  const node = copyField(batch.nodeName);
  const kinds = FLOW_FIELDS.map(kindOf);
  const sourceSide = FLOW_FIELDS.map((f) => 'side' in f && f.side === 'source');
  return (row) => {
    const r = row as readonly unknown[];
    const marked = isSanitizedRecord(row, row[FLOW_IX.sourceRef], row[FLOW_IX.destinationRef], batch.endpoints);
    let line = head;
    for (let i = 0; i < kinds.length; i++) {
      const v = r[i];
      switch (kinds[i]) {
        case 'time':
          line += v === null ? `\t${NULL}` : `\t${isoTime(v as number)}`;
          break;
        case 'node':
          line += v === null ? `\t${node}` : `\t${copyField(v as string)}`;
          break;
        case 'ref':
          line += `\t${ends.text(v as number | null, true, marked && sourceSide[i]!)}`;
          break;
        default:
          line += `\t${copyField(v as string | number | boolean | null)}`;
      }
    }
    return `${line}\n`;
  };
}

/** A writer of one batch's L7 event rows as COPY text lines (L7_COLUMNS). */
export function l7CopyWriter(
  batch: Pick<IngestBatch, 'endpoints'>,
  ctx: RowContext,
  ends = new BatchEndpoints(batch.endpoints),
): (e: L7EventRow) => string {
  const head = `${copyField(ctx.collectorId)}\t${copyField(ctx.batchId)}`;
  return (e) => {
    const [s, d] = [e.source, e.destination];
    const marked = isSanitizedRecord(e, s[2], d[2], batch.endpoints);
    // The class reads only the protocol's details, which a row has as an event does.
    const status = l7StatusClass(e as unknown as L7Event);
    return `${[
      head,
      fields([isoTime(e.time), e.id, e.flowId, e.nodeName, e.type, e.protocol, e.latencyNs, s[0], s[1]]),
      ends.text(s[2], false, marked),
      fields([d[0], d[1]]),
      ends.text(d[2], false, false),
      fields([
        e.http?.method,
        e.http?.path,
        e.http?.code,
        e.dns?.query,
        e.dns?.rcode,
        e.kafka?.apiKey,
        e.kafka?.topic,
        e.kafka?.errorCode,
        status,
        e.http ?? e.dns ?? e.kafka ?? {},
        e.sampling,
        e.tls,
      ]),
    ].join('\t')}\n`;
  };
}

const fields = (values: readonly CopyValue[]) => values.map(copyField).join('\t');
