/** Hubble → Sextant: `hubble observe -o jsonpb` lines (files, stdin) into Sextant flows and L7 events. */
import { z } from 'zod';
import type { Endpoint } from './flow';
import { Flow, L7_PROTOCOLS, L7Event as L7EventSchema, TCP_FLAGS, WorkloadKind } from './flow';
import type { HubbleEndpoint, HubbleFlow } from './hubble';
import { fromRfc3339, HubbleLine, stableUuid } from './hubble';
import { L7_PROTOCOL_REGISTRY } from './l7-protocols';
import type { FilterRecord } from './matcher';

export class HubbleParseError extends Error {
  constructor(
    readonly line: number | undefined,
    readonly path: string,
    detail: string,
  ) {
    super(`${line !== undefined ? `line ${line}: ` : ''}${path ? `${path}: ` : ''}${detail}`);
    this.name = 'HubbleParseError';
  }
}

/** A line that holds no importable flow: another response type, or a flow Sextant cannot represent. */
export interface SkippedLine {
  kind: 'skipped';
  reason: string;
}
export type HubbleRecord = FilterRecord | SkippedLine;

type HFlow = z.output<typeof HubbleFlow>;
type HEndpoint = z.output<typeof HubbleEndpoint>;
const KINDS = new Set<string>(WorkloadKind.options);

function endpointIn(
  ip: string,
  port: number | undefined,
  e: HEndpoint | undefined,
  svc: { name: string; namespace?: string } | undefined,
  names: string[] | undefined,
): z.input<typeof Flow>['source'] {
  const workloads = (e?.workloads ?? []).filter((w) => KINDS.has(w.kind ?? '')).slice(0, 8) as Endpoint['workloads'];
  const service = svc?.name || e?.workloads?.[0]?.name || undefined;
  const out: z.input<typeof Flow>['source'] = { ip };
  if (port) out.port = port;
  if (service) out.service = service;
  if (e?.namespace || svc?.namespace) out.namespace = e?.namespace || svc?.namespace;
  if (e?.pod_name) out.podName = e.pod_name;
  if (workloads?.length) out.workloads = workloads;
  // Sextant keeps at most 64 labels per endpoint.
  if (e?.labels?.length) out.labels = e.labels.filter((l) => l.length <= 256).slice(0, 64);
  if (names?.length) out.names = names.slice(0, 16);
  return out;
}

/** Paths of Sextant's model named the Hubble way in error messages. */
function hubblePath(path: PropertyKey[], l7: boolean): string {
  const p = path.map(String).join('.');
  const map: Record<string, string> = {
    'source.ip': 'flow.IP.source',
    'destination.ip': 'flow.IP.destination',
    verdict: 'flow.verdict',
    time: 'flow.time',
    trafficDirection: 'flow.traffic_direction',
    'source.namespace': 'flow.source.namespace',
    'destination.namespace': 'flow.destination.namespace',
  };
  return (
    map[p] ??
    (l7 && p.startsWith('http') ? `flow.l7.${p}` : l7 && (p.startsWith('dns') || p.startsWith('kafka')) ? `flow.l7.${p}` : `flow (${p})`)
  );
}

function parseFlow(f: HFlow, top: { node_name?: string; time?: string }, raw: string, lineNo: number | undefined): HubbleRecord {
  const fail = (path: string, msg: string): never => {
    throw new HubbleParseError(lineNo, path, msg);
  };
  const timeText = f.time ?? top.time;
  if (!timeText) fail('flow.time', 'missing');
  const time = fromRfc3339(timeText as string);
  if (!Number.isFinite(time)) fail('flow.time', `not an RFC 3339 time: ${JSON.stringify(timeText)}`);
  const srcIp = f.IP?.source;
  const dstIp = f.IP?.destination;
  if (!srcIp || !dstIp) return { kind: 'skipped', reason: 'flow without IP addresses' };
  const l4 = f.l4 ?? {};
  const proto = (['TCP', 'UDP', 'ICMPv4', 'ICMPv6'] as const).find((p) => l4[p] !== undefined);
  if (!proto) return { kind: 'skipped', reason: l4.SCTP ? 'SCTP flow' : 'flow without a layer 4 protocol' };
  const ports = proto === 'TCP' || proto === 'UDP' ? (l4[proto] ?? {}) : {};
  const nodeName = f.node_name ?? top.node_name ?? '';
  const id = f.uuid && z.uuid().safeParse(f.uuid).success ? f.uuid : stableUuid(raw);
  const srcNames = f.source_names;
  const dstNames = f.destination_names;
  let source = endpointIn(srcIp, ports.source_port, f.source, f.source_service, srcNames);
  let destination = endpointIn(dstIp, ports.destination_port, f.destination, f.destination_service, dstNames);

  if (f.Type === 'L7' || f.l7) {
    const l7 = f.l7 ?? {};
    const protocol = L7_PROTOCOLS.find((p) => (l7 as Record<string, unknown>)[p] !== undefined);
    if (!protocol) return fail('flow.l7', `an L7 flow needs one of ${L7_PROTOCOLS.join(', ')}`);
    const type = l7.type === 'REQUEST' || l7.type === 'RESPONSE' || l7.type === 'SAMPLE' ? l7.type : 'SAMPLE';
    if (type === 'RESPONSE' && f.is_reply === true) [source, destination] = [destination, source];
    const flowId = stableUuid(`${nodeName}|${source.ip}|${source.port ?? 0}|${destination.ip}|${destination.port ?? 0}|${proto}`);
    const event: z.input<typeof L7EventSchema> = { id, flowId, time, nodeName, type, protocol, source, destination };
    if (l7.latency_ns) event.latencyNs = l7.latency_ns;
    const response = type === 'RESPONSE';
    const detail = (l7 as Record<string, object | undefined>)[protocol];
    const parsedDetail =
      detail && L7_PROTOCOL_REGISTRY[protocol].fromHubble?.(detail, { response, transport: proto === 'UDP' ? 'UDP' : 'TCP' });
    if (parsedDetail) Object.assign(event, { [protocol]: parsedDetail });
    const parsed = L7EventSchema.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(hubblePath(issue?.path ?? [], true), issue?.message ?? 'invalid');
    }
    return { kind: 'l7', event: parsed.data };
  }

  const flags = (l4.TCP?.flags ?? {}) as Record<string, boolean>;
  const ipVersion = f.IP?.ipVersion === 'IPv6' ? 6 : f.IP?.ipVersion === 'IPv4' ? 4 : srcIp.includes(':') ? 6 : 4;
  const flow: z.input<typeof Flow> = {
    id,
    time,
    nodeName,
    verdict: (f.verdict ?? 'VERDICT_UNKNOWN') as Flow['verdict'],
    l4Protocol: proto,
    ipVersion,
    source,
    destination,
    tcpFlags: TCP_FLAGS.filter((t) => flags[t] === true),
    trafficDirection: (f.traffic_direction ?? 'TRAFFIC_DIRECTION_UNKNOWN') as Flow['trafficDirection'],
    isReply: f.is_reply ?? false,
  };
  if (f.drop_reason_desc && f.drop_reason_desc !== 'DROP_REASON_UNKNOWN') flow.dropReason = f.drop_reason_desc;
  const parsed = Flow.safeParse(flow);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(hubblePath(issue?.path ?? [], false), issue?.message ?? 'invalid');
  }
  return { kind: 'flow', flow: parsed.data };
}

/**
 * One `hubble observe -o jsonpb` line (or a bare Flow object, as `-o json` writes) → a Sextant record.
 * Throws HubbleParseError naming the line and the Hubble field path for malformed input.
 */
export function fromHubbleJson(line: string, lineNo?: number): HubbleRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new HubbleParseError(lineNo, '', `not JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HubbleParseError(lineNo, '', 'expected a JSON object');
  const obj = json as Record<string, unknown>;
  const wrapped = 'flow' in obj;
  if (!wrapped) {
    const other = ['node_status', 'lost_events', 'agent_event', 'debug_event'].find((k) => k in obj);
    if (other) return { kind: 'skipped', reason: `${other} line` };
  }
  const top = HubbleLine.safeParse(wrapped ? obj : { flow: obj });
  if (!top.success) {
    const issue = top.error.issues[0];
    throw new HubbleParseError(lineNo, (issue?.path ?? []).map(String).join('.'), issue?.message ?? 'invalid');
  }
  if (!top.data.flow) throw new HubbleParseError(lineNo, 'flow', 'missing');
  return parseFlow(top.data.flow, top.data, line, lineNo);
}
