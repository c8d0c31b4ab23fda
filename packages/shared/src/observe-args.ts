/**
 * `hubble observe` flags → a FlowQueryFilter plus time and output options. The same language serves the
 * CLI and the UI's filter bar. Repeated values of one flag OR, different flags AND; `--not` sends the next
 * filter flag to the deny list; either-side flags (--ip, --pod, --service, --fqdn, --label, --port,
 * --namespace) become two filters, one per side, like hubble's.
 */
import type { FlowFilter, FlowQueryFilter } from './filter';
import { FlowQueryFilter as FlowQueryFilterSchema } from './filter';
import { GRPC_STATUS_NAMES } from './protocols/http';

export class ObserveArgsError extends Error {}

export const OUTPUTS = ['compact', 'dict', 'json', 'jsonpb', 'table'] as const;
export type ObserveOutput = (typeof OUTPUTS)[number];

export interface ObserveQuery {
  filter: FlowQueryFilter;
  /** Epoch ms, resolved against `now` for relative durations. */
  since?: number;
  until?: number;
  last?: number;
  first?: number;
  follow: boolean;
  output: ObserveOutput;
}

type Key = keyof FlowFilter;
const SIDED: Record<string, [Key, Key]> = {
  ip: ['sourceIp', 'destinationIp'],
  pod: ['sourcePod', 'destinationPod'],
  service: ['sourceService', 'destinationService'],
  fqdn: ['sourceFqdn', 'destinationFqdn'],
  label: ['sourceLabel', 'destinationLabel'],
  port: ['sourcePort', 'destinationPort'],
  namespace: ['sourceNamespace', 'destinationNamespace'],
  workload: ['sourceWorkload', 'destinationWorkload'],
  process: ['sourceProcess', 'destinationProcess'],
};
const SIMPLE: Record<string, Key> = {
  'node-name': 'nodeName',
  verdict: 'verdict',
  'traffic-direction': 'trafficDirection',
  protocol: 'protocol',
  'http-status': 'httpStatusCode',
  'http-method': 'httpMethod',
  'http-path': 'httpPath',
  'dns-query': 'dnsQuery',
  'kafka-topic': 'kafkaTopic',
  'grpc-method': 'grpcMethod',
  'grpc-status': 'grpcStatus',
  type: 'eventType',
  'tcp-flags': 'tcpFlags',
};
const ALIASES: Record<string, string> = { n: 'namespace', l: 'label', f: 'follow', o: 'output' };

/** Durations like 30s, 10m, 1h30m, 2d → ms; RFC 3339 timestamps → epoch ms. */
export function parseTime(value: string, now: number, flag: string): number {
  if (/^(\d+(ms|s|m|h|d))+$/.test(value)) {
    const units: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };
    let ms = 0;
    for (const m of value.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * (units[m[2] ?? 's'] ?? 0);
    return now - ms;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ObserveArgsError(`--${flag}: expected a duration (10m, 1h30m) or an RFC 3339 time, got "${value}"`);
  return t;
}

function normalise(key: Key, value: string): string | number {
  if (key === 'grpcStatus' && !/^\d+$/.test(value)) {
    const code = (GRPC_STATUS_NAMES as readonly string[]).indexOf(value.toUpperCase());
    if (code < 0) throw new ObserveArgsError(`--grpc-status: expected a code (0-16) or a name like NOT_FOUND, got "${value}"`);
    return String(code);
  }
  if (key === 'verdict' || key === 'trafficDirection' || key === 'tcpFlags') return value.toUpperCase();
  if (key === 'eventType') {
    const v = value.toLowerCase();
    if (v === 'l7') return 'L7';
    if (v === 'trace' || v === 'l3_l4' || v === 'l4') return 'L3_L4';
    throw new ObserveArgsError(`--type: expected l7 or trace, got "${value}"`);
  }
  return value;
}

export function parseObserveArgs(argv: string[], now = Date.now()): ObserveQuery {
  const q: ObserveQuery = { filter: { allow: [], deny: [] }, follow: false, output: 'compact' };
  // Collected values: per key, whether either-side, and whether negated.
  const allow: Partial<Record<Key, (string | number)[]>> = {};
  const deny: Partial<Record<Key, (string | number)[]>> = {};
  const sidedAllow: [Key, Key, string[]][] = [];
  const sidedDeny: [Key, Key, string[]][] = [];
  const flags: Partial<FlowFilter> & { ipVersion?: (4 | 6)[]; reply?: boolean } = {};
  let negate = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i] ?? '';
    let inline: string | undefined;
    if (!arg.startsWith('-')) throw new ObserveArgsError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    let name = arg.replace(/^--?/, '');
    name = ALIASES[name] ?? name;
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new ObserveArgsError(`--${name} needs a value`);
      return v;
    };
    const target = negate ? deny : allow;
    if (name === 'not') {
      negate = true;
      continue;
    }
    if (name === 'follow') q.follow = true;
    else if (name === 'output') {
      const v = value();
      if (!(OUTPUTS as readonly string[]).includes(v))
        throw new ObserveArgsError(`--output: expected one of ${OUTPUTS.join(', ')}, got "${v}"`);
      q.output = v as ObserveOutput;
    } else if (name === 'since' || name === 'until') q[name] = parseTime(value(), now, name);
    else if (name === 'last' || name === 'first') {
      const v = Number(value());
      if (!Number.isInteger(v) || v <= 0) throw new ObserveArgsError(`--${name}: expected a positive integer`);
      q[name] = v;
    } else if (name === 'ipv4' || name === 'ipv6') (flags.ipVersion ??= []).push(name === 'ipv4' ? 4 : 6);
    else if (name === 'is-reply') {
      // A boolean flag like hubble's: --is-reply, --is-reply=true or --is-reply=false.
      const v = (inline ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw new ObserveArgsError(`--is-reply: expected true or false, got "${inline}"`);
      flags.reply = v === 'true';
    } else if (name.startsWith('from-') || name.startsWith('to-')) {
      const [dir, base] = name.startsWith('from-') ? [0, name.slice(5)] : [1, name.slice(3)];
      const sided = SIDED[base];
      if (!sided) throw new ObserveArgsError(`unknown flag --${name}`);
      const key = sided[dir] as Key;
      (target[key] ??= []).push(value());
    } else if (SIDED[name]) {
      const [s, d] = SIDED[name] as [Key, Key];
      const list = negate ? sidedDeny : sidedAllow;
      const existing = list.find((x) => x[0] === s);
      if (existing) existing[2].push(value());
      else list.push([s, d, [value()]]);
    } else if (SIMPLE[name]) {
      const key = SIMPLE[name] as Key;
      const v = value();
      for (const part of key === 'tcpFlags' ? v.split(',') : [v]) (target[key] ??= []).push(normalise(key, part));
    } else throw new ObserveArgsError(`unknown flag --${name}`);
    if (name !== 'not') negate = false;
  }
  // Like hubble: every either-side flag applies to the source in one filter and to the destination in the
  // other (`--namespace shop --port 8080` = source in shop on 8080, or destination in shop on 8080), never
  // crosswise; the other flags are in both.
  const build = (values: Partial<Record<Key, unknown[]>>, sided: [Key, Key, string[]][], extra: object): FlowFilter[] => {
    const base = { ...values, ...extra } as FlowFilter;
    if (!sided.length) return Object.keys(base).length ? [base] : [];
    const side = (pick: 0 | 1) => {
      const f: Record<string, unknown[]> = { ...(base as Record<string, unknown[]>) };
      for (const entry of sided) f[entry[pick]] = [...(f[entry[pick]] ?? []), ...entry[2]];
      return f as FlowFilter;
    };
    return [side(0), side(1)];
  };
  const parsed = FlowQueryFilterSchema.safeParse({
    allow: build(allow, sidedAllow, flags),
    deny: build(deny, sidedDeny, {}).filter((f) => Object.keys(f).length),
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ObserveArgsError(`invalid filter value at ${i?.path.slice(2).join('.') ?? '?'}: ${i?.message ?? ''}`);
  }
  q.filter = parsed.data;
  return q;
}

/** Splits a filter-bar string like a shell would (quotes group, backslash escapes). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else if (c === '\\' && i + 1 < text.length) cur += text[++i];
    else cur += c;
  }
  if (quote) throw new ObserveArgsError('unterminated quote');
  if (has || cur) out.push(cur);
  return out;
}

export function parseFilterText(text: string, now = Date.now()): ObserveQuery {
  return parseObserveArgs(splitArgs(text), now);
}
