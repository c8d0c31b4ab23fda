/**
 * L7 decode coverage per connection (issue 17, packages/shared l7-coverage.ts): the class a TCP connection's flow
 * row carries, decided when its close is read. It comes from the kernel's classification of the socket, carried by
 * the close event itself (`l7Proto`: the syscall path's protocol, SX_PROTO_*; `l7Tls`: plaintext seen through the
 * libssl / node uprobes, SX_TLS_*), not from records: in signals mode most exchanges leave no record, and the
 * two ring buffers are not ordered with each other, so records of a short connection often come after its close.
 * Nothing runs per packet or per record for it, except one set insert per HTTP/2 stream the parser could not
 * decode (`markNotDecodable`, from the L7 assembler). That mark can only come after the stream's data was parsed,
 * which may be after the close was read: the final row of an HTTP/2 connection classed cleartext is held back
 * (`ready`) until the L7 side is done with the connection, and goes out with its class settled (`release`).
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
import { FLOW_IX, type L7CoverageClass, type PendingFlowRow } from '@sextant/shared';

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
/** A held row waits at least this long (the L7 ring read behind the TCP ring), and at most the second. */
const MIN_HOLD_MS = 1_000;
const MAX_HOLD_MS = 30_000;
/** Rows held at most (a flood of HTTP/2 closes): beyond, the oldest goes out as it is. */
const MAX_HELD = 65_536;

type Row = PendingFlowRow;
/** The final row of an HTTP/2 connection classed cleartext, waiting for a mark that may still come. */
interface Held {
  row: Row;
  facts: CoverageCloseFacts;
  at: number;
}

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

  private held: Held[] = [];
  private readonly heldRows = new Set<Row>();

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
   * classify such a server socket). With `row`, an HTTP/2 connection's row classed cleartext is held (see ready).
   */
  classOf(e: CoverageCloseFacts, reportedByPeer: boolean, row?: Row): L7CoverageClass | null {
    const h2Lost = this.takeMark(e);
    const cls = this.enabled && !reportedByPeer ? decide(e, h2Lost) : null;
    this.counts[cls ?? 'none']++;
    if (row && cls === 'cleartext' && e.l7Proto === SX_PROTO_HTTP2) {
      if (this.held.length >= MAX_HELD) this.heldRows.delete(this.held.shift()!.row);
      this.held.push({ row, facts: { ...e }, at: Date.now() });
      this.heldRows.add(row);
    }
    return cls;
  }

  /** The rows of a batch that go out now: those held (HTTP/2, a mark may still come) wait for release. */
  ready(rows: Row[]): Row[] {
    return this.heldRows.size === 0 ? rows : rows.filter((r) => !this.heldRows.has(r));
  }

  /**
   * Held rows whose connection the L7 side is done with (`busy` says it still holds data of it), or held too long:
   * their class settled by the marks that came meanwhile. `all`: every held row (the collector stops).
   */
  release(now: number, busy: (sockId: bigint, startNs: bigint, endNs: bigint) => boolean, all = false): Row[] {
    if (this.held.length === 0) return [];
    const out: Row[] = [];
    const keep: Held[] = [];
    for (const h of this.held) {
      const age = now - h.at;
      if (!all && (age < MIN_HOLD_MS || (age < MAX_HOLD_MS && busy(h.facts.sockId, h.facts.startNs, h.facts.endNs)))) {
        keep.push(h);
        continue;
      }
      if (this.takeMark(h.facts)) {
        h.row[FLOW_IX.l7Coverage] = 'http2-undecodable';
        this.counts.cleartext--;
        this.counts['http2-undecodable']++;
      }
      this.heldRows.delete(h.row);
      out.push(h.row);
    }
    this.held = keep;
    return out;
  }

  /** Whether a stream of this connection (its first data within its life) was marked not decodable; consumes the mark. */
  private takeMark(e: CoverageCloseFacts): boolean {
    if (this.notDecodable.size === 0) return false; // (nearly always: no BigInt-keyed look-up per close)
    const markedAt = this.notDecodable.get(e.sockId);
    const lost = markedAt !== undefined && markedAt <= e.endNs && (e.startNs === 0n || markedAt >= e.startNs);
    if (lost) this.notDecodable.delete(e.sockId);
    return lost;
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
