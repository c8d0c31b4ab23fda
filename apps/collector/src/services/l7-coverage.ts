/**
 * L7 decode coverage per connection (issue 17, packages/shared l7-coverage.ts): the class a TCP connection's flow
 * row carries, decided when its close is read. It comes from the kernel's classification of the socket, carried by
 * the close event itself (`l7Proto`: the syscall path's protocol, SX_PROTO_*; `l7Tls`: plaintext seen through the
 * libssl / node uprobes, SX_TLS_*), not from records: in signals mode most exchanges leave no record, and the
 * two ring buffers are not ordered with each other, so records of a short connection often come after its close.
 * Nothing runs per packet or per record for it, except one set insert per HTTP/2 stream the parser could not
 * decode (`markNotDecodable`, from the L7 assembler).
 *
 * A close event without those fields (a BPF object that does not fill them yet) gets no class: never a guess.
 */
import {
  SX_PROTO_DNS,
  SX_PROTO_HTTP,
  SX_PROTO_HTTP2,
  SX_PROTO_HTTP2_MIDSTREAM,
  SX_PROTO_KAFKA,
  SX_PROTO_NONE,
  SX_PROTO_TLS,
  SX_PROTO_UNKNOWN,
  SX_TLS_NODE,
  SX_TLS_OPENSSL,
} from '@sextant/bpf';
import type { L7CoverageClass } from '@sextant/shared';

/** What the class is decided from: the close event's fields (those the kernel fills for coverage may be absent). */
export interface CoverageCloseFacts {
  sockId: bigint;
  startNs: bigint;
  endNs: bigint;
  bytesAcked: number;
  bytesReceived: number;
  l7Proto?: number;
  l7Tls?: number;
}

/** Sockets remembered as having an HTTP/2 stream not decodable, at most (oldest forgotten first). */
const MAX_MARKED = 16_384;

export class L7CoverageClassifier {
  /** Socket → kernel time of the first data of the connection whose HTTP/2 stream was not decodable. */
  private readonly notDecodable = new Map<bigint, bigint>();
  private readonly counts: Record<L7CoverageClass | 'none', number> = {
    cleartext: 0,
    'tls-openssl': 0,
    'tls-node': 0,
    'tls-undecoded': 0,
    'http2-undecodable': 0,
    'http2-midstream': 0,
    unrecognized: 0,
    none: 0,
  };

  /** `enabled`: L7 capture runs and classifies sockets (not off, not the `hooks` benchmark floor). */
  constructor(private readonly enabled: boolean) {}

  /**
   * An HTTP/2 stream of the connection on this socket whose first data came at `firstNs` had a header block the
   * parser could not decode. A mark that comes after its connection's close (the rings are not ordered) is
   * never taken by a later connection reusing the socket address: its close must span `firstNs`.
   */
  markNotDecodable(sockId: bigint, firstNs: bigint): void {
    if (this.notDecodable.get(sockId) === firstNs) return;
    if (this.notDecodable.size >= MAX_MARKED) this.notDecodable.delete(this.notDecodable.keys().next().value as bigint);
    this.notDecodable.set(sockId, firstNs);
  }

  /**
   * The class of a connection at its final report, or null: L7 off, the kernel did not say, no payload, or the
   * server side of a same-node connection (its client's socket reports the connection; the kernel does not
   * classify such a server socket).
   */
  classOf(e: CoverageCloseFacts, reportedByPeer: boolean): L7CoverageClass | null {
    const markedAt = this.notDecodable.get(e.sockId);
    const h2Lost = markedAt !== undefined && markedAt <= e.endNs && (e.startNs === 0n || markedAt >= e.startNs);
    if (h2Lost) this.notDecodable.delete(e.sockId);
    const cls = this.enabled && !reportedByPeer ? decide(e, h2Lost) : null;
    this.counts[cls ?? 'none']++;
    return cls;
  }

  /** Connections classified since start, by class (collector health details). */
  stats(): Readonly<Record<L7CoverageClass | 'none', number>> {
    return this.counts;
  }
}

/** The class from the kernel's facts about one socket (exported for its table test). */
export function decide(e: CoverageCloseFacts, h2NotDecodable: boolean): L7CoverageClass | null {
  if (e.l7Proto === undefined) return null;
  if (e.l7Tls === SX_TLS_OPENSSL) return 'tls-openssl';
  if (e.l7Tls === SX_TLS_NODE) return 'tls-node';
  switch (e.l7Proto) {
    case SX_PROTO_HTTP:
    case SX_PROTO_DNS:
    case SX_PROTO_KAFKA:
      return 'cleartext';
    case SX_PROTO_HTTP2:
      return h2NotDecodable ? 'http2-undecodable' : 'cleartext';
    case SX_PROTO_HTTP2_MIDSTREAM:
      // a connection older than the probes whose first bytes seen were HTTP/2 frames (the kernel tracks it from then on)
      return 'http2-midstream';
    case SX_PROTO_TLS:
      return 'tls-undecoded';
    case SX_PROTO_NONE:
      return 'unrecognized';
    case SX_PROTO_UNKNOWN:
      // Payload moved but the syscall hooks never saw enough of it to decide (sendfile/splice, a socket state
      // evicted from the kernel's LRU): seen, not decoded. Sequence-space counters include SYN and FIN (≤ 2 each way).
      return e.bytesAcked > 2 || e.bytesReceived > 2 ? 'unrecognized' : null;
    default:
      return null;
  }
}
