/**
 * What a full spool costs the collector per batch it takes during an outage, without a server or a kernel: batches
 * as the shipper cuts them (BENCH_ROWS records, default 2,000: 70 % TCP flows, 30 % L7 records, plus 200 kernel L7
 * aggregate rows, 20 UDP conversation flows, 20 histograms and a health report: every batch has flows to keep) put into a spool of BENCH_SPOOL_MB (default 64) in a temp
 * dir, 3× as many bytes as it holds: the puts until it is full (write only) against the puts after (write, then
 * compaction of the oldest batch: read, parse, rewrite its aggregate parts). Prints ms per put (median, p95) for
 * both, the bytes of a whole and a compacted batch, and what was shed and dropped (nothing dropped: checked).
 * `npx tsx apps/collector/bench/spool.bench.ts`
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTraffic, httpAggregate } from '@sextant/db/testing';
import type { HistogramSample } from '@sextant/shared';
import { prepareBatch, type PreparedBatch } from '../src/services/prepared-batch';
import { Spool } from '../src/services/spool';
import { batchHealth, udpConversation } from '../src/testing/kernel-aggregate-flows';

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000);
const SPOOL_BYTES = Number(process.env.BENCH_SPOOL_MB ?? 64) << 20;
const now = Date.now();
const flows = Math.round(ROWS * 0.7);
const t = generateTraffic({ seed: 7, connections: flows, start: now - 60_000, end: now, l7Share: 1, requestsPerConnection: 1 });
const l7 = t.l7.slice(0, ROWS - flows);
const udp = t.flows.slice(0, 20).map(udpConversation);

function batch(): PreparedBatch {
  const l7Aggregates = Array.from({ length: 200 }, (_, i) =>
    httpAggregate({
      time: now - 60_000,
      source: { ip: '10.0.0.1', service: `client-${i % 40}` },
      destination: { ip: '10.0.0.2', port: 80, service: `server-${i % 7}` },
      code: 200 + (i % 5),
      count: 100 + i,
      latencyNs: 1_000_000,
    }),
  );
  const histograms: HistogramSample[] = Array.from({ length: 20 }, (_, i) => ({
    kind: 'tcp_connect',
    windowStart: now - 60_000,
    windowSeconds: 10,
    nodeName: 'node-a',
    sourceService: `client-${i}`,
    sourceNamespace: '',
    destinationService: 'server',
    destinationNamespace: '',
    idx: [10, 11, 12],
    cnt: [1, 2, 3],
  }));
  const health = batchHealth(now);
  return prepareBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: [...t.flows, ...udp], l7, l7Aggregates, histograms, health });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-spool-bench-'));
try {
  const spool = new Spool(dir, SPOOL_BYTES);
  const sample = batch();
  const n = Math.ceil((3 * SPOOL_BYTES) / sample.body.length);
  const filling: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = batch();
    const wasFull = spool.stats().bytes + b.body.length > SPOOL_BYTES;
    const t0 = performance.now();
    spool.put(b);
    (wasFull ? full : filling).push(performance.now() - t0);
  }
  const s = spool.stats();
  const compacted = s.files ? fs.statSync(path.join(dir, fs.readdirSync(dir).sort()[0]!)).size : 0;
  const ms = (xs: number[]) => `median ${pct(xs, 0.5).toFixed(2)} ms, p95 ${pct(xs, 0.95).toFixed(2)} ms (${xs.length} puts)`;
  console.log(
    `batch: ${ROWS} records, ${(sample.body.length / 1024).toFixed(0)} KiB whole, ${(compacted / 1024).toFixed(1)} KiB compacted`,
  );
  console.log(`put, spool filling: ${ms(filling)}`);
  console.log(`put, spool full (compacts the oldest): ${ms(full)}`);
  console.log(
    `spool ${(s.bytes / 2 ** 20).toFixed(1)} of ${SPOOL_BYTES / 2 ** 20} MiB, ${s.files} files; shed ${s.shedRecords} records of ${s.shedBatches} batches; dropped ${s.droppedBatches} batches`,
  );
  if (s.droppedBatches !== 0) throw new Error('aggregates dropped');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
