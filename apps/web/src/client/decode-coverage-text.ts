/**
 * The words of L7 decode coverage per workload (issue 17): which of a workload's connections Sextant decoded and
 * which it saw without decoding, so "no requests" and "not visible" are never confused. Pure, so the wording is
 * tested; the Collectors page and the map's service panel show these lines.
 */
import type { WorkloadCoverage } from '@sextant/db';
import { connectionsText, isDecodedClass, L7_COVERAGE_CLASSES, L7_COVERAGE_LABELS, type L7CoverageClass } from '@sextant/shared';

/** "TLS (not decoded): 3 connections", one per class present, decoded classes first. */
export function classParts(w: Pick<WorkloadCoverage, 'connections'>): { cls: L7CoverageClass; text: string; decoded: boolean }[] {
  const order = [...L7_COVERAGE_CLASSES].sort((a, b) => Number(isDecodedClass(b)) - Number(isDecodedClass(a)));
  return order
    .filter((c) => w.connections[c] > 0)
    .map((c) => ({ cls: c, text: `${L7_COVERAGE_LABELS[c]}: ${connectionsText(w.connections[c])}`, decoded: isDecodedClass(c) }));
}

/** "Decoded 12 of 18 connections", "Not decoded: 3 connections", "Decoded: all 7 connections". */
export function decodedSummary(w: Pick<WorkloadCoverage, 'total' | 'decoded'>): string {
  if (w.decoded === w.total) return `Decoded: all ${connectionsText(w.total)}`;
  if (w.decoded === 0) return `Not decoded: ${connectionsText(w.total)}`;
  return `Decoded ${w.decoded.toLocaleString('en-US')} of ${connectionsText(w.total)}`;
}

/** The service panel's line: summary, then each class. Null when the workload had no classified connection. */
export function decodeCoverageLine(w: WorkloadCoverage | undefined): string | null {
  if (!w || w.total === 0) return null;
  return `L7 decoding — ${decodedSummary(w)}: ${classParts(w)
    .map((p) => p.text)
    .join(' · ')}`;
}

export const DECODE_COVERAGE_NOTE =
  'Connections that moved payload, by how their bytes were read: cleartext from the socket, TLS plaintext through the ' +
  'OpenSSL or Node uprobes; not decoded: TLS in a runtime Sextant does not hook (or excluded), HTTP/2 whose headers ' +
  'could not be decoded (joined mid-stream), or a protocol no parser recognized. A workload with no requests but ' +
  'undecoded connections is not idle: Sextant cannot see into its traffic.';
