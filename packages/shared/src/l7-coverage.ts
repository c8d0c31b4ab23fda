/**
 * L7 decode coverage per connection (issue 17): whether a TCP connection's payload was decoded, and how — so a
 * workload with "no requests" is never confused with one whose traffic Sextant cannot see into. The collector
 * decides one class per connection from the kernel's classification of its socket (apps/collector
 * services/l7-coverage.ts); it travels on the flow row (`l7Coverage`), is stored in `flows.l7_coverage` and is
 * counted per edge and minute in `l7_coverage_minute` (packages/db), read per workload by `coverage.workloads`
 * and exported as `sextant_l7_coverage_connections_total`.
 */
import { z } from 'zod';

/**
 * - `cleartext`: bytes read from the socket's syscalls were recognized (HTTP/1.x, HTTP/2 with its preface, DNS, Kafka);
 * - `tls-openssl` / `tls-node`: a TLS connection whose plaintext was read through the libssl / node binary's uprobes;
 * - `tls-undecoded`: a TLS handshake was seen and no plaintext (a runtime Sextant does not hook, or one excluded);
 * - `http2-undecodable`: HTTP/2 whose header blocks could not all be decoded (a block past the capture, the HPACK
 *   table lost): some of its streams have no method or path;
 * - `http2-midstream`: HTTP/2 joined mid-stream: a connection older than the collector whose first bytes seen were
 *   HTTP/2 frames (its preface and first header blocks came before, so none of its streams can be decoded);
 * - `unrecognized`: payload moved and no parser recognized its first bytes.
 * No class (null): the connection moved no payload, or its other end reports it (the server side of a same-node
 * connection), or it is not TCP.
 */
export const L7_COVERAGE_CLASSES = [
  'cleartext',
  'tls-openssl',
  'tls-node',
  'tls-undecoded',
  'http2-undecodable',
  'http2-midstream',
  'unrecognized',
] as const;
export const L7CoverageClass = z.enum(L7_COVERAGE_CLASSES);
export type L7CoverageClass = z.infer<typeof L7CoverageClass>;

/** What a user reads for each class (Collectors page, service panel). */
export const L7_COVERAGE_LABELS: Readonly<Record<L7CoverageClass, string>> = {
  cleartext: 'Cleartext (decoded)',
  'tls-openssl': 'TLS via OpenSSL (decoded)',
  'tls-node': 'TLS via Node (decoded)',
  'tls-undecoded': 'TLS (not decoded)',
  'http2-undecodable': 'HTTP/2 (not decodable)',
  'http2-midstream': 'HTTP/2 joined mid-stream (not decoded)',
  unrecognized: 'Protocol not recognized',
};

/** Classes whose requests Sextant reads; the others are traffic it sees but cannot decode. */
export function isDecodedClass(c: L7CoverageClass): boolean {
  return c === 'cleartext' || c === 'tls-openssl' || c === 'tls-node';
}

/** "3 connections", "1 connection". */
export function connectionsText(n: number): string {
  return `${n.toLocaleString('en-US')} connection${n === 1 ? '' : 's'}`;
}
