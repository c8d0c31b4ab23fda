import { describe, expect, it } from 'vitest';
import { encodeBatch, IngestBatch } from './wire';

const now = Date.now();
const flow = (i: number) => ({
  id: crypto.randomUUID(),
  time: now - i,
  nodeName: 'n',
  verdict: 'FORWARDED' as const,
  l4Protocol: 'TCP' as const,
  ipVersion: 4 as const,
  source: { ip: '10.0.0.1', port: 40000 + (i % 1000), service: 'a' },
  destination: { ip: '10.0.0.2', port: 80, service: 'b' },
});

describe('ingest batch validation', () => {
  it('stops at the first bad row: 20,000 malformed flow rows give the first one’s issues, not 100k', () => {
    const batch = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: Array.from({ length: 20_000 }, (_, i) => flow(i)) });
    const rows = batch.flows as unknown[][];
    for (const r of rows.slice(5)) r.fill('x');
    const r = IngestBatch.safeParse(batch);
    expect(r.success).toBe(false);
    expect(r.error!.issues.length).toBeLessThanOrEqual(10);
    expect(r.error!.issues.every((i) => i.path[0] === 'flows' && i.path[1] === 5)).toBe(true);
  });

  it('accepts the same batch when every row is valid', () => {
    const batch = encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: Array.from({ length: 2_000 }, (_, i) => flow(i)) });
    const r = IngestBatch.safeParse(batch);
    expect(r.success).toBe(true);
    expect(r.data!.flows).toHaveLength(2_000);
  });
});
