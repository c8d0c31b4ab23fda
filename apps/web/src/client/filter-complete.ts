/**
 * Autocomplete for the hubble-style filter line: flag names while typing `--…`, known services after a
 * service flag, verdicts and protocols after theirs. Pure: the page feeds it the text, the caret and the
 * service names it knows.
 */
import { L7_PROTOCOLS } from '@sextant/shared';

export const FLAGS = [
  '--from-service',
  '--to-service',
  '--service',
  '--from-namespace',
  '--to-namespace',
  '--namespace',
  '--from-pod',
  '--to-pod',
  '--pod',
  '--from-ip',
  '--to-ip',
  '--ip',
  '--from-port',
  '--to-port',
  '--port',
  '--from-fqdn',
  '--to-fqdn',
  '--fqdn',
  '--from-process',
  '--to-process',
  '--process',
  '--verdict',
  '--protocol',
  '--http-status',
  '--http-method',
  '--http-path',
  '--dns-query',
  '--kafka-topic',
  '--grpc-method',
  '--grpc-status',
  '--type',
  '--tcp-flags',
  '--node-name',
  '--traffic-direction',
  '--not',
] as const;

const VALUES: Record<string, string[]> = {
  '--verdict': ['FORWARDED', 'DROPPED', 'ERROR', 'AUDIT'],
  '--protocol': ['tcp', 'udp', ...L7_PROTOCOLS, 'icmp'],
  '--http-status': ['5+', '4+', '200', '404', '500', '503'],
  '--http-method': ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
  '--type': ['l7', 'trace'],
  '--grpc-status': ['OK', 'NOT_FOUND', 'INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED'],
};
const SERVICE_FLAGS = new Set(['--from-service', '--to-service', '--service']);
const NAMESPACE_FLAGS = new Set(['--from-namespace', '--to-namespace', '--namespace', '-n']);

export interface Completion {
  /** Replace text[from, to) with the chosen option. */
  from: number;
  to: number;
  options: string[];
}

export function completeFilter(text: string, caret: number, services: { name: string; namespace: string }[], max = 8): Completion | null {
  const before = text.slice(0, caret);
  const m = /(\S*)$/.exec(before);
  const word = m?.[1] ?? '';
  const from = caret - word.length;
  let to = caret;
  while (to < text.length && !/\s/.test(text[to] as string)) to++;
  const prev = /(\S+)\s+$/.exec(before.slice(0, from))?.[1];
  let pool: string[];
  if (word.startsWith('-') && !(prev && (SERVICE_FLAGS.has(prev) || prev in VALUES))) pool = [...FLAGS];
  else if (prev && SERVICE_FLAGS.has(prev)) pool = [...new Set(services.map((s) => s.name))];
  else if (prev && NAMESPACE_FLAGS.has(prev)) pool = [...new Set(services.map((s) => s.namespace).filter(Boolean))];
  else if (prev && prev in VALUES) pool = VALUES[prev] ?? [];
  else return null;
  const w = word.toLowerCase();
  const starts = pool.filter((o) => o.toLowerCase().startsWith(w) && o !== word);
  const contains = w ? pool.filter((o) => !o.toLowerCase().startsWith(w) && o.toLowerCase().includes(w)) : [];
  const options = [...starts, ...contains].slice(0, max);
  return options.length ? { from, to, options } : null;
}

/** Text and caret after choosing an option. */
export function applyCompletion(text: string, c: Completion, option: string): { text: string; caret: number } {
  const tail = text.slice(c.to);
  const insert = tail.startsWith(' ') ? option : `${option} `;
  return { text: text.slice(0, c.from) + insert + tail, caret: c.from + insert.length };
}
