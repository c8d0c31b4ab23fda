/**
 * The last TCP connections closed on this host, for L7 records that arrive after their connection's close. The
 * TCP events and the L7 records come through two ring buffers that are not ordered with each other, so a short
 * connection's close is often read before its data; the data must still get the connection's flow id and be
 * flushed as closed. In signals mode almost no connection has a record, so this is written for every close and
 * read only for the few connections that do: a write is a few stores into preallocated arrays (no object, no map
 * entry, no timer), and a lookup follows the chain of closes whose socket address hashes alike, newest first, only
 * as far as closes that ended before the data was captured (a connection's data is never later than its close).
 *
 * It replaces a map of closed flow ids (an object and a map entry per connection, expired on a timer) and a map of
 * closes waiting for their data (per socket address, which the kernel reuses at once: a list per address, scanned
 * per new connection and filtered on every tick) that ran for every connection although almost none had a record.
 *
 * The arrays start small and double as closes are written, up to the capacity (then the oldest is overwritten): a
 * host whose closes mostly have no L7 records (the kernel says which, `l7Records`) never holds the full 12 MB.
 */

/** Closes remembered (oldest overwritten first): ~13 s of 10,000 connections a second. */
export const CLOSED_CONNECTIONS = 131_072;
/** Closes are read about in the order they ended; this much disorder (between CPUs) is allowed for. */
const END_DISORDER_NS = 50e6;
/** Room per flow id (latin1 bytes: a UUID's 36 characters). */
export const ID_WIDTH = 36;
/** Hash buckets at most (socket address bits 12–29: kernel socket addresses as doubles are multiples of 2^12). */
const MAX_BUCKETS = 1 << 18;
/** Room for this many closes at first. */
const INITIAL_SLOTS = 4_096;

/** The hash bucket, of `buckets`, of a kernel socket address given as a double (`Number(sockId)`). */
export function socketBucket(approx: number, buckets: number): number {
  return Math.floor(approx / 4096) % buckets;
}

export class ClosedConnections {
  /** Socket address as a double (a prefilter: equal addresses give equal doubles), then exactly. */
  private sockApprox: Float64Array;
  private sock: BigUint64Array;
  /** Start and end (monotonic ns, as doubles: exact below 2^53 ns, 104 days of uptime); start 0: not known. */
  private start: Float64Array;
  private end: Float64Array;
  /**
   * Flow ids as latin1 bytes, ID_WIDTH per slot, and each one's length. Not the id strings: every id held for
   * 131,072 closes survived the young generation and was copied into the old one (each a slice keeping its
   * 256-id pool string alive), which with L7 on was most of the collector's extra GC work per connection; the
   * string is made again only for the few connections whose data comes after their close.
   */
  private idBytes: Buffer;
  private idLength: Uint8Array;
  /** Per bucket, the sequence number of its newest close (-1: none); per slot, the bucket's previous one. */
  private head: Float64Array;
  private prev: Float64Array;
  /** Slots allocated now (a power of two times INITIAL_SLOTS, at most the capacity). */
  private slots: number;
  /** Closes written so far: the sequence number of the next (its slot is the number % slots). */
  private written = 0;

  constructor(private readonly capacity = CLOSED_CONNECTIONS) {
    this.slots = Math.min(capacity, INITIAL_SLOTS);
    this.sockApprox = new Float64Array(this.slots);
    this.sock = new BigUint64Array(this.slots);
    this.start = new Float64Array(this.slots);
    this.end = new Float64Array(this.slots);
    this.idBytes = Buffer.alloc(this.slots * ID_WIDTH);
    this.idLength = new Uint8Array(this.slots);
    this.prev = new Float64Array(this.slots);
    this.head = new Float64Array(bucketsFor(this.slots)).fill(-1);
  }

  /**
   * A connection's final report: its socket address, [start, end] (ns; start 0 when not known) and flow id (at
   * most ID_WIDTH latin1 characters: the collector's ids are UUIDs).
   */
  add(sockId: bigint, startNs: number, endNs: number, id: string): void {
    if (id.length > ID_WIDTH) throw new RangeError(`flow id longer than ${ID_WIDTH} characters: ${id}`);
    if (this.written === this.slots && this.slots < this.capacity) this.grow();
    const seq = this.written++;
    const i = seq % this.slots;
    const approx = Number(sockId);
    const b = socketBucket(approx, this.head.length);
    this.prev[i] = this.head[b]!;
    this.head[b] = seq;
    this.sockApprox[i] = approx;
    this.sock[i] = sockId;
    this.start[i] = startNs;
    this.end[i] = endNs;
    this.idLength[i] = this.idBytes.write(id, i * ID_WIDTH, 'latin1');
  }

  /**
   * The flow id of the closed connection of `sockId` whose [start, end] holds `tsNs` (the time of its data), or
   * undefined. Of several (the address reused), the one that ended first.
   */
  find(sockId: bigint, tsNs: number): string | undefined {
    return this.closed(sockId, tsNs)?.id;
  }

  /** As `find`, with the close's end (monotonic ns). */
  closed(sockId: bigint, tsNs: number): { id: string; endNs: number } | undefined {
    const approx = Number(sockId);
    const slots = this.slots;
    const oldest = Math.max(0, this.written - slots);
    let best = -1;
    for (let n = this.head[socketBucket(approx, this.head.length)]!; n >= oldest; n = this.prev[n % slots]!) {
      const i = n % slots;
      const end = this.end[i]!;
      if (end < tsNs) {
        if (end < tsNs - END_DISORDER_NS) break;
        continue;
      }
      if (this.sockApprox[i] !== approx || this.sock[i] !== sockId) continue;
      const start = this.start[i]!;
      if ((start === 0 || start <= tsNs) && (best < 0 || end <= this.end[best]!)) best = i;
    }
    if (best < 0) return undefined;
    return { id: this.idBytes.toString('latin1', best * ID_WIDTH, best * ID_WIDTH + this.idLength[best]!), endNs: this.end[best]! };
  }

  /** Closes held now. */
  get size(): number {
    return Math.min(this.written, this.slots);
  }

  /**
   * Twice the slots (every slot is in use and none was overwritten yet, so each close keeps its slot: its sequence
   * number), and the buckets for them, whose chains are made again in order.
   */
  private grow(): void {
    const slots = Math.min(this.capacity, this.slots * 2);
    const doubles = (a: Float64Array): Float64Array => {
      const b = new Float64Array(slots);
      b.set(a);
      return b;
    };
    this.sockApprox = doubles(this.sockApprox);
    this.start = doubles(this.start);
    this.end = doubles(this.end);
    const sock = new BigUint64Array(slots);
    sock.set(this.sock);
    this.sock = sock;
    const idLength = new Uint8Array(slots);
    idLength.set(this.idLength);
    this.idLength = idLength;
    const ids = Buffer.alloc(slots * ID_WIDTH);
    this.idBytes.copy(ids);
    this.idBytes = ids;
    this.prev = new Float64Array(slots);
    this.head = new Float64Array(bucketsFor(slots)).fill(-1);
    for (let seq = 0; seq < this.written; seq++) {
      const b = socketBucket(this.sockApprox[seq]!, this.head.length);
      this.prev[seq] = this.head[b]!;
      this.head[b] = seq;
    }
    this.slots = slots;
  }
}

/** Hash buckets for this many slots: twice as many, at most MAX_BUCKETS. */
function bucketsFor(slots: number): number {
  return Math.min(MAX_BUCKETS, slots * 2);
}
