/**
 * The collector's configuration: command-line flags override environment variables, everything validated
 * by one zod object (a comment per setting, coerced defaults). Read once at start.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const CollectorConfig = z.object({
  /** Base URL of the Sextant server, e.g. http://sextant.internal:3000 (flag --server, env SEXTANT_SERVER). */
  server: z.url({ protocol: /^https?$/ }),
  /** Collector token created by an admin in the UI (flag --token, env SEXTANT_TOKEN). */
  token: z.string().regex(/^sxc_[\w-]{20,}$/, 'expected a collector token (sxc_…)'),
  /** Name of this host in flows (flag --node-name, env SEXTANT_NODE_NAME); defaults to the hostname. */
  nodeName: z.string().min(1).max(253).default(os.hostname()),
  /** Flush a batch when it holds this many flows + L7 events (env SEXTANT_BATCH_MAX_RECORDS). */
  batchMaxRecords: z.coerce.number().int().min(1).max(20_000).default(2_000),
  /** Flush a batch at least this often (env SEXTANT_FLUSH_INTERVAL_MS). */
  flushIntervalMs: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** Directory of the on-disk spool used while the server is unreachable (env SEXTANT_SPOOL_DIR). */
  spoolDir: z.string().min(1).default('/var/lib/sextant/spool'),
  /**
   * Upper bound of the spool (env SEXTANT_SPOOL_MAX_BYTES); beyond it the oldest batches' records are shed (their
   * aggregates kept), then the oldest aggregate-only batches dropped, all counted as lost.
   */
  spoolMaxBytes: z.coerce
    .number()
    .int()
    .min(1 << 20)
    .default(512 * 1024 * 1024),
  /** How often kernel histograms and UDP aggregates are read and reset (env SEXTANT_HISTOGRAM_INTERVAL_MS). */
  histogramIntervalMs: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
  /** How often a health report is sent (env SEXTANT_HEALTH_INTERVAL_MS). */
  healthIntervalMs: z.coerce.number().int().min(1_000).max(300_000).default(10_000),
  /**
   * How long what /proc says about a process (name, cwd, package, cgroup) is trusted before it is read again
   * (env SEXTANT_PROCESS_CACHE_MS); tests that wait for a dead process to be forgotten shorten it.
   */
  processCacheMs: z.coerce.number().int().min(100).max(300_000).default(10_000),
  /**
   * Interim reports of long-lived TCP connections (that moved bytes) at most this often, from a periodic sweep
   * of the kernel's socket map; 0 = at close only (env SEXTANT_UPDATE_INTERVAL_MS).
   */
  updateIntervalMs: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 1_000 && v <= 3_600_000), 'must be 0 or 1000..3600000')
    .default(30_000),
  /** JSON file of service naming rules (env SEXTANT_RULES). */
  rulesFile: z.string().optional(),
  /**
   * UDP flows, counted per send/receive call of UDP sockets (a raw tracepoint that every socket call passes,
   * TCP's included); 0 turns them off and unloads those programs (env SEXTANT_UDP_FLOWS).
   */
  udpFlows: z.boolean().default(true),
  /** L7 capture (HTTP, DNS, Kafka) from send/receive syscalls; 0 turns it off (env SEXTANT_L7). */
  l7: z.boolean().default(true),
  /**
   * How HTTP exchanges reach user space (env SEXTANT_L7_MODE): `signals` (default) counts every exchange in kernel
   * aggregates (method, status, latency histogram per endpoint pair) and copies full records only for errors, slow
   * exchanges, an on-demand capture and successes within the record budget; `full` copies every exchange (each is
   * its own record); `hooks` attaches the L7 tracepoints that return at once (benchmarks: the floor of the hooks).
   * DNS and Kafka are recorded in full in every mode.
   */
  l7Mode: z.enum(['signals', 'full', 'hooks']).default('signals'),
  /** Successful HTTP exchanges recorded per second on this host in signals mode; errors and slow ones always are (env SEXTANT_L7_RECORD_BUDGET). */
  l7RecordBudget: z.coerce.number().int().min(0).max(1_000_000).default(500),
  /** An HTTP exchange this slow (request → first response bytes, ms) on an edge without its own threshold is always recorded in signals mode (env SEXTANT_L7_SLOW_MS). */
  l7SlowMs: z.coerce.number().int().min(1).max(3_600_000).default(250),
  /**
   * Per-edge slow thresholds (services/slow-thresholds.ts): an edge with enough recent exchanges is slow above its
   * own p99, clamped to [SEXTANT_L7_SLOW_MIN_MS, SEXTANT_L7_SLOW_MAX_MS]; at most SEXTANT_L7_SLOW_EDGES edges (the
   * busiest; 0 = off: every edge uses SEXTANT_L7_SLOW_MS, which is also the threshold of edges without their own).
   */
  l7SlowMinMs: z.coerce.number().int().min(1).max(3_600_000).default(20),
  l7SlowMaxMs: z.coerce.number().int().min(1).max(3_600_000).default(10_000),
  l7SlowEdges: z.coerce.number().int().min(0).max(1024).default(1024),
  /** How often the server is asked whether it wants every exchange recorded (a live tail's capture; env SEXTANT_CONTROL_INTERVAL_MS). */
  controlIntervalMs: z.coerce.number().int().min(200).max(60_000).default(2_000),
  /** Bytes captured from each send/receive syscall, 64..4096 (env SEXTANT_L7_CAPTURE_BYTES). */
  l7CaptureBytes: z.coerce.number().int().min(64).max(4096).default(1024),
  /** Query parameters whose values are redacted in captured URLs, comma-separated; * = all (env SEXTANT_REDACT_QUERY). */
  redactQueryParams: z.array(z.string().min(1).max(128)).max(256).optional(),
  /**
   * Kernel ring buffer for TCP connection events, MiB, a power of two (env SEXTANT_TCP_RING_MB). 4 MiB holds
   * ~0.7 s of 20k connections/s; raise it when the collector reports lost events in bursts.
   */
  tcpRingMb: z.coerce
    .number()
    .int()
    .refine((v) => v >= 1 && v <= 256 && (v & (v - 1)) === 0, 'must be a power of two, 1..256')
    .default(4),
  /**
   * Kernel ring buffer for L7 captures, MiB, a power of two (env SEXTANT_L7_RING_MB). Default by mode: 4 in
   * signals mode (kept records only), 16 in full mode (every exchange), 1 in hooks mode. The whole ring is
   * resident in the collector, twice (the kernel maps its data area twice): each MiB is ~2 MiB of RSS.
   */
  l7RingMb: z.coerce
    .number()
    .int()
    .refine((v) => v >= 1 && v <= 256 && (v & (v - 1)) === 0, 'must be a power of two, 1..256')
    .optional(),
  /**
   * How far behind its L7 ring the collector may fall before it sheds record work, ms (env SEXTANT_L7_MAX_LAG_MS;
   * 0 = never): a batch whose newest record the kernel wrote this long ago loses its sampled records before any
   * work, at twice this its capture and slow ones, at four times its errors and full-path records; each counted per
   * reason (health l7Shed*). TCP events and the kernel aggregates are never shed (services/record-shedding.ts).
   */
  l7MaxLagMs: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 100 && v <= 600_000), 'must be 0 or 100..600000')
    .default(2_000),
  /**
   * V8 heap in use at which the collector sheds record work, MB (env SEXTANT_L7_MAX_HEAP_MB; 0 = never): over it a
   * full collection (at most one a second) finds what is live; live at the bound, a batch loses its sampled records
   * before any work, at 1.5× its capture and slow ones, at 4× its errors and full-path records; counted per
   * reason like the lag's (services/record-shedding.ts). TCP events and the kernel aggregates are never shed.
   * The forced collection also bounds the resident set: V8 left the first full collection of a churn-heavy run until
   * its old generation held ~38 MB, mostly garbage (peak RSS 168–170 MB in a minute of `close`); at 40 the heap in use
   * stays near it (148), while what is live there is ~20 MB, so nothing is shed.
   */
  l7MaxHeapMb: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 16 && v <= 65_536), 'must be 0 or 16..65536')
    .default(40),
  /**
   * TLS plaintext from uprobes on libssl.so.3 and node binaries (env SEXTANT_TLS; 0/off turns it off: TLS
   * connections are then only marked TLS, their content not decoded). Needs L7 capture.
   */
  tls: z
    .union([z.boolean(), z.enum(['on', 'off'])])
    .transform((v) => v === true || v === 'on')
    .default(true),
  /** Binary files never given the TLS uprobes, comma-separated paths (env SEXTANT_TLS_EXCLUDE). */
  tlsExclude: z.array(z.string().min(1).max(4096)).max(256).default([]),
  /** How often /proc is scanned for node binaries and libssl copies new to the host, ms (env SEXTANT_TLS_SCAN_MS). */
  tlsScanMs: z.coerce.number().int().min(500).max(600_000).default(5_000),
  /** Observe the collector's own traffic to the server too (env SEXTANT_OBSERVE_SELF=1). */
  observeSelf: z.coerce.boolean().default(false),
  /**
   * Sextant's own processes, whose traffic the UI hides by default (label sextant:self): these pids and their
   * descendants (env SEXTANT_SELF_PIDS, comma-separated; `npm start` passes its own) and whatever listens on
   * these ports (env SEXTANT_SELF_PORTS; `npm start` passes the web server's and embedded PostgreSQL's). The
   * collector itself, and the server URL's port when the server is on this host, always count.
   */
  selfPids: z.array(z.coerce.number().int().min(2).max(4_194_304)).max(64).default([]),
  selfPorts: z.array(z.coerce.number().int().min(1).max(65535)).max(64).default([]),
});
export type CollectorConfig = z.infer<typeof CollectorConfig>;

const FLAGS = {
  server: { type: 'string' },
  token: { type: 'string' },
  'node-name': { type: 'string' },
  'spool-dir': { type: 'string' },
  rules: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const USAGE = `usage: sextant-collector --server URL --token TOKEN [--node-name NAME] [--spool-dir DIR] [--rules FILE]
  (each flag also reads from the environment: SEXTANT_SERVER, SEXTANT_TOKEN, SEXTANT_NODE_NAME, SEXTANT_SPOOL_DIR, SEXTANT_RULES)`;

export class ConfigError extends Error {}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CollectorConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new ConfigError(USAGE);
  const parsed = CollectorConfig.safeParse({
    server: values.server ?? env.SEXTANT_SERVER,
    token: values.token ?? env.SEXTANT_TOKEN,
    nodeName: values['node-name'] ?? env.SEXTANT_NODE_NAME,
    batchMaxRecords: env.SEXTANT_BATCH_MAX_RECORDS,
    flushIntervalMs: env.SEXTANT_FLUSH_INTERVAL_MS,
    spoolDir: values['spool-dir'] ?? env.SEXTANT_SPOOL_DIR,
    spoolMaxBytes: env.SEXTANT_SPOOL_MAX_BYTES,
    histogramIntervalMs: env.SEXTANT_HISTOGRAM_INTERVAL_MS,
    healthIntervalMs: env.SEXTANT_HEALTH_INTERVAL_MS,
    processCacheMs: env.SEXTANT_PROCESS_CACHE_MS,
    updateIntervalMs: env.SEXTANT_UPDATE_INTERVAL_MS,
    rulesFile: values.rules ?? env.SEXTANT_RULES,
    observeSelf: env.SEXTANT_OBSERVE_SELF === '1' || env.SEXTANT_OBSERVE_SELF === 'true',
    udpFlows: env.SEXTANT_UDP_FLOWS !== '0' && env.SEXTANT_UDP_FLOWS !== 'false',
    l7: env.SEXTANT_L7 !== '0' && env.SEXTANT_L7 !== 'false',
    l7Mode: env.SEXTANT_L7_MODE || undefined,
    tls: !['0', 'false', 'off'].includes(env.SEXTANT_TLS ?? ''),
    tlsExclude: env.SEXTANT_TLS_EXCLUDE
      ? env.SEXTANT_TLS_EXCLUDE.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    tlsScanMs: env.SEXTANT_TLS_SCAN_MS || undefined,
    l7RecordBudget: env.SEXTANT_L7_RECORD_BUDGET || undefined,
    l7SlowMs: env.SEXTANT_L7_SLOW_MS || undefined,
    l7SlowMinMs: env.SEXTANT_L7_SLOW_MIN_MS || undefined,
    l7SlowMaxMs: env.SEXTANT_L7_SLOW_MAX_MS || undefined,
    l7SlowEdges: env.SEXTANT_L7_SLOW_EDGES || undefined,
    controlIntervalMs: env.SEXTANT_CONTROL_INTERVAL_MS || undefined,
    l7CaptureBytes: env.SEXTANT_L7_CAPTURE_BYTES,
    tcpRingMb: env.SEXTANT_TCP_RING_MB,
    l7RingMb: env.SEXTANT_L7_RING_MB || undefined,
    l7MaxLagMs: env.SEXTANT_L7_MAX_LAG_MS || undefined,
    l7MaxHeapMb: env.SEXTANT_L7_MAX_HEAP_MB || undefined,
    selfPids: env.SEXTANT_SELF_PIDS
      ? env.SEXTANT_SELF_PIDS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    selfPorts: env.SEXTANT_SELF_PORTS
      ? env.SEXTANT_SELF_PORTS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    redactQueryParams: env.SEXTANT_REDACT_QUERY
      ? env.SEXTANT_REDACT_QUERY.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(config)'}: ${i.message}`).join('\n');
    throw new ConfigError(`invalid collector configuration:\n${problems}\n${USAGE}`);
  }
  return parsed.data;
}
