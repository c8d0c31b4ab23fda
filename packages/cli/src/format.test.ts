import { Flow, L7Event, type FilterRecord } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { createPrinter, formatTable, hubbleTime } from './format';

// Local time is what hubble prints; these tests pin the zone.
process.env.TZ = 'UTC';

const t = Date.UTC(2026, 0, 2, 3, 4, 5) + 67;
const flow = Flow.parse({
  id: crypto.randomUUID(),
  time: t,
  nodeName: 'n1',
  verdict: 'DROPPED',
  dropReason: 'NO_SOCKET',
  l4Protocol: 'TCP',
  ipVersion: 6,
  trafficDirection: 'INGRESS',
  source: { ip: '2001:db8::7', port: 40000 },
  destination: { ip: 'fd00::2', port: 443, service: 'web', namespace: 'shop', podName: 'web-1' },
  tcpFlags: ['SYN'],
});
const kafka = L7Event.parse({
  id: crypto.randomUUID(),
  flowId: flow.id,
  time: t + 1000,
  nodeName: 'n1',
  type: 'REQUEST',
  protocol: 'kafka',
  source: { ip: '10.0.0.1', port: 41000, service: 'orders' },
  destination: { ip: '10.0.0.9', port: 9092, service: 'kafka' },
  kafka: { apiKey: 'fetch', apiVersion: 11, correlationId: 7, topic: 'events' },
});
const records: FilterRecord[] = [
  { kind: 'flow', flow },
  { kind: 'l7', event: kafka },
];

function print(output: Parameters<typeof createPrinter>[0], batches: FilterRecord[][]): string {
  let out = '';
  const p = createPrinter(output, (s) => (out += s));
  for (const b of batches) p(b);
  return out;
}

describe('hubble output formats', () => {
  it('pads the day like Go\'s "Jan _2" layout', () => {
    expect(hubbleTime(t)).toBe('Jan  2 03:04:05.067');
    expect(hubbleTime(Date.UTC(2026, 10, 25, 23, 59, 59, 999))).toBe('Nov 25 23:59:59.999');
  });

  it('compact: IPv6 in brackets, pods as namespace/pod, world for unnamed public peers, drop reason as type', () => {
    expect(print('compact', [records]).split('\n')).toEqual([
      'Jan  2 03:04:05.067: [2001:db8::7]:40000 (world) -> shop/web-1:443 (web) No socket DROPPED (TCP Flags: SYN)',
      "Jan  2 03:04:06.067: 10.0.0.1:41000 (orders) -> 10.0.0.9:9092 (kafka) kafka-request FORWARDED (Kafka request fetch correlation id 7 topic 'events')",
      '',
    ]);
  });

  it('dict separates blocks across batches; table prints its header once', () => {
    const dict = print('dict', [[records[0] as FilterRecord], [records[1] as FilterRecord]]);
    expect(dict.split('\n').filter((l) => l === '------------')).toHaveLength(1);
    expect(dict).toContain('DESTINATION: shop/web-1:443\n');
    const table = print('table', [[records[0] as FilterRecord], [records[1] as FilterRecord]]).split('\n');
    expect(table.filter((l) => l.startsWith('TIMESTAMP'))).toHaveLength(1);
    expect(table[1]).toBe('Jan  2 03:04:05.067   [2001:db8::7]:40000   shop/web-1:443   No socket   DROPPED   TCP Flags: SYN');
  });

  it('aligns table columns to the widest cell plus three spaces', () => {
    const row = { time: 'T', node: 'n', source: 'a', destination: 'bbbb', type: 'x', verdict: 'V', summary: 'S' };
    expect(formatTable([row, { ...row, source: 'aaaaaa' }], true)).toEqual([
      'TIMESTAMP   SOURCE   DESTINATION   TYPE   VERDICT   SUMMARY',
      'T           a        bbbb          x      V         S',
      'T           aaaaaa   bbbb          x      V         S',
    ]);
  });
});
