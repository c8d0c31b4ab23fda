/**
 * Protocol detection from the first bytes a connection carries, in either direction. A request tells the
 * protocol and which direction carries requests (so the role: the side writing requests is the client);
 * an HTTP status line tells it from the other side. Anything else stays undetected.
 */
import { looksLikeDnsQuery } from './dns';
import { startsWithRequestLine, startsWithStatusLine } from './http';
import { PREFACE } from './http2-frames';
import { looksLikeKafkaRequest } from './kafka';
import type { L7Protocol } from '@sextant/shared';

export interface Detection {
  protocol: L7Protocol;
  /** Whether the inspected bytes travel in the request direction. */
  requestDirection: boolean;
  /** HTTP over HTTP/2 (h2c: the client's connection preface), parsed by http2.ts. */
  http2?: boolean;
}

/** Detects the protocol of a connection from one chunk's captured bytes; null when unknown. */
export function detectProtocol(data: Buffer, transport: 'tcp' | 'udp', peerPort?: number): Detection | null {
  if (transport === 'udp') {
    if (looksLikeDnsQuery(data)) return { protocol: 'dns', requestDirection: true };
    // A response seen first (the query was missed): only trusted from the DNS port.
    if ((peerPort === 53 || peerPort === 5353) && data.length >= 12 && (data[2]! & 0x80) !== 0)
      return { protocol: 'dns', requestDirection: false };
    return null;
  }
  const n = Math.min(data.length, PREFACE.length);
  if (n >= 4 && data.compare(PREFACE, 0, n, 0, n) === 0) return { protocol: 'http', requestDirection: true, http2: true };
  if (startsWithRequestLine(data)) return { protocol: 'http', requestDirection: true };
  if (startsWithStatusLine(data)) return { protocol: 'http', requestDirection: false };
  if (data.length >= 8 && looksLikeKafkaRequest(data)) return { protocol: 'kafka', requestDirection: true };
  if (data.length >= 14 && data.readUInt16BE(0) >= 12 && looksLikeDnsQuery(data.subarray(2)))
    return { protocol: 'dns', requestDirection: true };
  return null;
}
