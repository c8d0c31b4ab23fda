/**
 * Versioned wire schemas between collectors and the server. A batch is the unit of idempotency: the
 * collector picks a random batchId once and reuses it on every retry, the server stores it at most once.
 */
import { z } from 'zod';
import { Flow, L7Event } from './flow';
import { HIST_NUM_BUCKETS } from './histogram';

export const WIRE_SCHEMA_VERSION = 1 as const;

/** Limits a batch must respect; the server answers PAYLOAD_TOO_LARGE above them. */
export const BATCH_LIMITS = {
  maxFlows: 20_000,
  maxL7Events: 20_000,
  maxHistograms: 5_000,
  /** Request body size accepted by the ingest endpoint. */
  maxBodyBytes: 16 * 1024 * 1024,
} as const;

export const HISTOGRAM_KINDS = ['tcp_connect', 'tcp_srtt', 'http', 'dns', 'kafka'] as const;
export const HistogramKind = z.enum(HISTOGRAM_KINDS);
export type HistogramKind = z.infer<typeof HistogramKind>;

const bucketIndex = z.number().int().min(0).max(HIST_NUM_BUCKETS - 1);

/** Latency histogram for one (source, destination, kind) over a window, read from a BPF map. */
export const HistogramSample = z
  .object({
    kind: HistogramKind,
    /** Window start and length; the server rolls it into the minute that holds windowStart. */
    windowStart: z.number().min(0),
    windowSeconds: z.number().positive().max(3600),
    nodeName: z.string().max(253),
    sourceService: z.string().max(253),
    sourceNamespace: z.string().max(253).default(''),
    destinationService: z.string().max(253),
    destinationNamespace: z.string().max(253).default(''),
    destinationIp: z.union([z.ipv4(), z.ipv6()]).optional(),
    destinationPort: z.number().int().min(0).max(65535).optional(),
    idx: z.array(bucketIndex).max(HIST_NUM_BUCKETS),
    cnt: z.array(z.number().int().min(0)).max(HIST_NUM_BUCKETS),
  })
  .refine((h) => h.idx.length === h.cnt.length, { path: ['cnt'], message: 'idx and cnt must have the same length' });
export type HistogramSample = z.infer<typeof HistogramSample>;

/** A collector's report about itself, so "no traffic" and "not visible" are never confused. */
export const CollectorHealthReport = z.object({
  time: z.number().min(0),
  version: z.string().max(64),
  kernel: z.string().max(128),
  hostname: z.string().max(253),
  eventsPerSecond: z.number().min(0),
  /** Kernel events lost since the collector started (ring buffer full, map full, queue drops). */
  lostEvents: z.number().int().min(0),
  parsedBytes: z.number().int().min(0).default(0),
  unparsedBytes: z.number().int().min(0).default(0),
  spoolBytes: z.number().int().min(0).default(0),
  ebpf: z.object({ available: z.boolean(), reason: z.string().max(1024).optional() }).optional(),
  details: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
});
export type CollectorHealthReport = z.infer<typeof CollectorHealthReport>;

export const IngestBatch = z.object({
  schemaVersion: z.literal(WIRE_SCHEMA_VERSION),
  batchId: z.uuid(),
  sentAt: z.number().min(0),
  flows: z.array(Flow).default([]),
  l7: z.array(L7Event).default([]),
  histograms: z.array(HistogramSample).default([]),
  health: CollectorHealthReport.optional(),
});
export type IngestBatch = z.infer<typeof IngestBatch>;
export type IngestBatchInput = z.input<typeof IngestBatch>;

export const IngestResult = z.object({
  batchId: z.uuid(),
  /** false when the batch id had been stored before: nothing was written again. */
  stored: z.boolean(),
  flows: z.number().int(),
  l7: z.number().int(),
  histograms: z.number().int(),
});
export type IngestResult = z.infer<typeof IngestResult>;

export const RegisterInput = z.object({
  hostname: z.string().min(1).max(253),
  version: z.string().max(64),
  kernel: z.string().max(128),
});
export type RegisterInput = z.infer<typeof RegisterInput>;
