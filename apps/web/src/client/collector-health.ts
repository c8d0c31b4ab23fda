/**
 * What the Collectors page shows of a collector's last health report. Pure, so it is tested without a browser.
 * `eventsPerSecond` counts kernel records the collector read (TCP connection records and their interim
 * updates, L7 data captures, UDP conversation and drop aggregates), averaged since its previous report — not
 * flows or requests. The unparsed share is the part of the L7 bytes captured that no parser could read
 * (TLS, unknown protocols, truncated captures).
 */
import { formatBytes } from './time-range';

export const EVENTS_PER_SECOND_NOTE =
  'kernel records read per second, averaged since the previous report: TCP connection records and interim updates, ' +
  'L7 data captures, UDP conversation and drop aggregates. Not flows or requests per second.';
export const UNPARSED_NOTE =
  'share of the L7 bytes captured (since the collector started) that no HTTP/DNS/Kafka parser could read: TLS, ' +
  'other protocols, truncated captures. High means "seen but not readable", not "no traffic".';

export const SLOW_EDGES_NOTE =
  'edges (a server port, or a remote server address and port) recorded as slow above their own recent p99 rather than ' +
  'the global SEXTANT_L7_SLOW_MS: those with enough HTTP exchanges in the last minute, the busiest first. Signals mode only.';

export interface HealthReport {
  eventsPerSecond?: number;
  lostEvents?: number;
  parsedBytes?: number;
  unparsedBytes?: number;
  deadLetterBatches?: number;
  spoolBytes?: number;
  ebpf?: { available: boolean; reason?: string };
  details?: Record<string, unknown>;
}

export interface UnparsedShare {
  text: string;
  /** Over half unreadable: worth a look (encrypted or unsupported traffic). */
  tone: 'warn' | '';
  title: string;
}

export function unparsedShare(h: HealthReport | null): UnparsedShare {
  const parsed = h?.parsedBytes ?? 0;
  const unparsed = h?.unparsedBytes ?? 0;
  const total = parsed + unparsed;
  if (!h || total === 0) return { text: '–', tone: '', title: 'no L7 bytes captured yet' };
  const share = unparsed / total;
  const pct = share === 0 ? '0 %' : share < 0.001 ? '< 0.1 %' : `${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %`;
  return { text: pct, tone: share > 0.5 ? 'warn' : '', title: `${formatBytes(unparsed)} unparsed of ${formatBytes(total)} captured` };
}

export function eventsPerSecondText(h: HealthReport | null): string {
  const v = h?.eventsPerSecond;
  if (v === undefined) return '–';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : String(v);
}

export interface SpoolLoss {
  /** bad: aggregates were dropped (request counts short); warn: records shed (aggregates kept). */
  tone: 'bad' | 'warn' | '';
  title: string | undefined;
}

/** What the collector's spool lost to its bound since it started (health details spoolShedRecords, spoolDropped*). */
export function spoolLoss(h: HealthReport | null): SpoolLoss {
  const n = (k: string) => {
    const v = h?.details?.[k];
    return typeof v === 'number' && v > 0 ? v : 0;
  };
  const [shed, aggregates, exchanges, histograms] = [
    n('spoolShedRecords'),
    n('spoolDroppedAggregates'),
    n('spoolDroppedExchanges'),
    n('spoolDroppedHistograms'),
  ];
  if (!shed && !aggregates && !histograms) return { tone: '', title: undefined };
  const f = (x: number) => x.toLocaleString('en-US');
  const parts = [`its full spool shed ${f(shed)} records (TCP connection flows, L7 records; their aggregates kept)`];
  if (aggregates || histograms)
    parts.push(`dropped ${f(aggregates)} aggregate rows (${f(exchanges)} requests) and ${f(histograms)} latency histograms`);
  return { tone: aggregates || histograms ? 'bad' : 'warn', title: `since the collector started, ${parts.join(', then ')}` };
}

/** How many edges have a slow threshold of their own (health detail l7SlowEdges); '–' from collectors without it. */
export function slowEdgesText(h: HealthReport | null): string {
  const v = h?.details?.l7SlowEdges;
  return typeof v === 'number' ? v.toLocaleString('en-US') : '–';
}
