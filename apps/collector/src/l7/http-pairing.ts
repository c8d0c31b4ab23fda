/**
 * Pairs the requests and responses of one HTTP/1.x connection. Responses come back in request order
 * (pipelining included), so pending requests are a FIFO queue. When a direction loses sync some messages are
 * unknown; the pairing then uses time (a response cannot start before its request) to stay honest.
 *
 * In signals mode the kernel copies only the exchanges it keeps, each as its request chunk followed at once by
 * its response chunks, all marked with the same sampling reason; the others leave no trace here. So the first
 * response of a sampled exchange answers only a request of the same reason from the chunk just before it: a
 * half whose other half was lost (a full ring) is dropped and counted, never paired with another exchange's.
 * The kernel takes one write for one request: when that chunk held several (pipelined in one write), it
 * counted only the first; the others are paired with the later responses of the same chunks and reported
 * unsampled, so that their records count them.
 */
import type { L7Sampling } from '@sextant/shared';
import { templatePath } from './http-path';
import { HttpStream, type BodyFraming, type HttpHead, type HttpStreamSink } from './http';
import type { ByteCounters } from './reassembly';
import { redactHeaderValue, type QueryRedactor } from './redact';
import type { HttpDetails, L7Exchange } from './types';

export interface HttpPairingOptions {
  redactor: QueryRedactor;
  keepHeaders: ReadonlySet<string>;
  maxHeadBytes: number;
  maxPending: number;
}

interface PendingRequest {
  lost: false;
  startTs: bigint;
  method: string;
  target: string;
  version: string;
  host?: string;
  headers: { key: string; value: string }[];
  bytes?: number;
  sampling?: L7Sampling;
  /** The connection's chunk number its head was parsed in. */
  chunk: number;
  /** A request after the first in a sampled chunk: the kernel did not count it (reported unsampled). */
  uncounted?: boolean;
}
/** Stands for requests that were sent while the request direction was out of sync (count unknown). */
interface LostRequests {
  lost: true;
}
type Pending = PendingRequest | LostRequests;

interface CurrentResponse {
  request?: PendingRequest;
  startTs: bigint;
  code: number;
  headers: { key: string; value: string }[];
  sampling?: L7Sampling;
}

export interface HttpPairingCounters {
  unanswered: number;
  orphanResponses: number;
  unmatchedSampled: number;
}

const MAX_HEADERS = 64;

export class HttpConnection {
  readonly requests: HttpStream;
  readonly responses: HttpStream;
  private readonly pending: Pending[] = [];
  private current: PendingRequest | null = null;
  private response: CurrentResponse | null = null;
  private responsesLost = false;
  private out: L7Exchange[] = [];
  /** The sampling reason of the chunk being fed (its heads take it), and that chunk's number. */
  private sampling: L7Sampling | undefined;
  private chunk = 0;
  /** The chunk number of the last request chunk, and whether a response head followed it yet. */
  private requestChunk = 0;
  private answered = false;

  /**
   * The two streams' sinks, as classes rather than object literals of arrow functions: the bundle keeps function names
   * (esbuild --keep-names), which defines `name` on every arrow function created (six per connection, a new
   * connection per sampled exchange when each request has its own connection).
   */
  private static readonly RequestSink = class implements HttpStreamSink {
    constructor(private readonly c: HttpConnection) {}
    onHead(head: HttpHead, ts: bigint): BodyFraming {
      return this.c.onRequestHead(head, ts);
    }
    onMessageEnd(bytes: number): void {
      if (this.c.current) this.c.current.bytes = bytes;
      this.c.current = null;
    }
    onDesync(): void {
      this.c.current = null;
      if (!this.c.pending[this.c.pending.length - 1]?.lost) this.c.enqueue({ lost: true });
    }
  };

  private static readonly ResponseSink = class implements HttpStreamSink {
    constructor(private readonly c: HttpConnection) {}
    onHead(head: HttpHead, ts: bigint): BodyFraming {
      return this.c.onResponseHead(head, ts);
    }
    onMessageEnd(bytes: number): void {
      this.c.finishResponse(bytes);
    }
    onDesync(midMessage: boolean): void {
      if (midMessage) this.c.finishResponse(undefined);
      this.c.responsesLost = true;
    }
  };

  constructor(
    private readonly connId: bigint,
    private readonly role: 'client' | 'server',
    private readonly opts: HttpPairingOptions,
    counters: ByteCounters,
    private readonly stats: HttpPairingCounters,
  ) {
    this.requests = new HttpStream('request', opts.maxHeadBytes, counters, new HttpConnection.RequestSink(this));
    this.responses = new HttpStream('response', opts.maxHeadBytes, counters, new HttpConnection.ResponseSink(this));
  }

  feed(which: 'request' | 'response', data: Buffer, ts: bigint, gap: number, out: L7Exchange[], sampling?: L7Sampling): void {
    this.out = out;
    this.sampling = sampling;
    this.chunk++;
    if (which === 'request') {
      this.requestChunk = this.chunk;
      this.answered = false;
    }
    const stream = which === 'request' ? this.requests : this.responses;
    if (data.length > 0) stream.feed(data, ts);
    if (gap > 0) stream.gap(gap);
  }

  /** Every exchange out, no message in progress in either direction. */
  get idle(): boolean {
    return this.pending.length === 0 && !this.current && !this.response && !this.responsesLost && this.requests.idle && this.responses.idle;
  }

  /** Connection closed: a close-delimited response ends; requests still waiting become unanswered exchanges. */
  close(out: L7Exchange[]): void {
    this.out = out;
    this.requests.close();
    this.responses.close();
    if (this.response) this.finishResponse(undefined);
    for (const p of this.pending.splice(0)) {
      if (p.lost) continue;
      // The kernel copies a sampled request only with its response: that response was lost, not missing.
      if (p.sampling !== undefined && !p.uncounted) {
        this.stats.unmatchedSampled++;
        continue;
      }
      this.stats.unanswered++;
      out.push(this.exchange(p, undefined, undefined));
    }
  }

  private enqueue(p: Pending): void {
    this.pending.push(p);
    while (this.pending.length > this.opts.maxPending) {
      if (!this.pending.shift()!.lost) this.stats.unanswered++;
    }
  }

  private onRequestHead(head: HttpHead, ts: bigint): BodyFraming {
    const headers: { key: string; value: string }[] = [];
    let host: string | undefined;
    for (const [name, value] of head.headers) {
      if (name === 'host' && host === undefined) host = value;
      if (this.opts.keepHeaders.has(name) && headers.length < MAX_HEADERS) headers.push(keptHeader(name, value));
    }
    const req: PendingRequest = {
      lost: false,
      startTs: ts,
      method: head.method!,
      target: head.target!,
      version: head.version,
      host,
      headers,
      chunk: this.chunk,
    };
    if (this.sampling !== undefined) req.sampling = this.sampling;
    this.enqueue(req);
    this.current = req;
    if (head.chunked) return { kind: 'chunked' };
    if (head.otherEncoding) return { kind: 'opaque' }; // cannot be delimited: stop parsing this connection
    return { kind: 'length', length: head.contentLength ?? 0 };
  }

  /**
   * The request a sampled response answers. The exchange's first response head (in the first response chunk
   * after a request chunk) answers the first request of that chunk when it has the same reason; every older
   * request is one whose response was lost (a sampled one's) or will never come here. A later head of the same
   * response chunks answers the next request of that chunk (pipelined in one write), uncounted by the kernel.
   */
  private takeSampledRequest(sampling: L7Sampling): PendingRequest | undefined {
    this.responsesLost = false;
    if (!this.answered && this.requestChunk === this.chunk - 1) {
      this.answered = true;
      while (this.pending.length && (this.pending[0]!.lost || (this.pending[0] as PendingRequest).chunk !== this.requestChunk)) {
        const p = this.pending.shift()!;
        if (!p.lost) this.dropUnanswered(p);
      }
      const first = this.pending[0] as PendingRequest | undefined;
      if (first && first.sampling === sampling) {
        this.pending.shift();
        for (const p of this.pending) if (!p.lost) p.uncounted = true;
        return first;
      }
    } else {
      const next = this.pending[0];
      if (next && !next.lost && next.uncounted && next.sampling === sampling) return this.pending.shift() as PendingRequest;
    }
    this.stats.unmatchedSampled++; // this response's own request was lost
    return undefined;
  }

  private dropUnanswered(p: PendingRequest): void {
    if (p.sampling !== undefined && !p.uncounted) this.stats.unmatchedSampled++;
    else this.stats.unanswered++;
  }

  /** The request a response answers, honouring lost messages on either side. */
  private takeRequest(ts: bigint): PendingRequest | undefined {
    // A full-path response never answers a sampled request (whose own response was lost).
    while (this.pending[0] && !this.pending[0].lost && this.pending[0].sampling !== undefined) {
      this.dropUnanswered(this.pending.shift() as PendingRequest);
    }
    if (this.responsesLost) {
      // Responses were lost: answer the newest request sent before this response (first of its write).
      this.responsesLost = false;
      let pick = -1;
      for (let i = 0; i < this.pending.length; i++) {
        const p = this.pending[i]!;
        if (p.lost || p.startTs > ts) continue;
        const prev = pick >= 0 ? (this.pending[pick] as PendingRequest) : undefined;
        if (!prev || p.startTs > prev.startTs) pick = i;
      }
      if (pick < 0) return undefined;
      for (const dropped of this.pending.splice(0, pick)) if (!dropped.lost) this.stats.unanswered++;
    }
    const head = this.pending[0];
    if (!head) return undefined;
    if (!head.lost) return this.pending.shift() as PendingRequest;
    // Requests were lost: this response answers one of them unless a known request was already sent.
    const next = this.pending[1];
    if (next && !next.lost && next.startTs <= ts) {
      this.pending.shift();
      return this.pending.shift() as PendingRequest;
    }
    return undefined;
  }

  private onResponseHead(head: HttpHead, ts: bigint): BodyFraming {
    const code = head.code!;
    if (code >= 100 && code < 200 && code !== 101) return { kind: 'none' }; // interim: the final one follows
    const sampling = this.sampling;
    const request = sampling !== undefined ? this.takeSampledRequest(sampling) : this.takeRequest(ts);
    if (!request && sampling === undefined) this.stats.orphanResponses++;
    const headers: { key: string; value: string }[] = [];
    for (const [name, value] of head.headers) {
      if (this.opts.keepHeaders.has(name) && headers.length < MAX_HEADERS) headers.push(keptHeader(name, value));
    }
    this.response = { request, startTs: ts, code, headers };
    // (a request the kernel did not count is counted by its record: reported unsampled)
    if (sampling !== undefined && !request?.uncounted) this.response.sampling = sampling;
    const method = request?.method;
    if (code === 101 || (method === 'CONNECT' && code >= 200 && code < 300)) {
      this.requests.becomeOpaque();
      return { kind: 'opaque' };
    }
    if (method === 'HEAD' || code === 204 || code === 304) return { kind: 'none' };
    if (head.chunked) return { kind: 'chunked' };
    if (head.otherEncoding) return { kind: 'close' };
    if (head.contentLength !== undefined) return { kind: 'length', length: head.contentLength };
    return { kind: 'close' };
  }

  private finishResponse(bytes: number | undefined): void {
    const res = this.response;
    this.response = null;
    if (!res?.request) return;
    this.out.push(this.exchange(res.request, res, bytes));
  }

  private exchange(req: PendingRequest, res: CurrentResponse | undefined, responseBytes: number | undefined): L7Exchange {
    const url = this.opts.redactor.redactTarget(req.target);
    let path = req.target;
    let host = req.host;
    const abs = /^https?:\/\/([^/?#]*)/i.exec(path);
    if (abs) {
      host ??= abs[1];
      path = path.slice(abs[0].length) || '/';
    }
    const q = path.search(/[?#]/);
    if (q >= 0) path = path.slice(0, q);
    const http: HttpDetails = {
      method: req.method,
      url: url.slice(0, 8192),
      path: path.slice(0, 8192),
      pathTemplate: templatePath(path),
      protocol: req.version,
      headers: res ? [...req.headers, ...res.headers].slice(0, MAX_HEADERS) : req.headers,
    };
    if (host) http.host = host.slice(0, 253);
    if (req.bytes !== undefined) http.requestBytes = req.bytes;
    if (res) http.code = res.code;
    if (responseBytes !== undefined) http.responseBytes = responseBytes;
    const ex: L7Exchange = { connId: this.connId, protocol: 'http', role: this.role, requestTimeNs: req.startTs, http };
    if (res) {
      if (res.sampling !== undefined) ex.sampling = res.sampling;
      ex.responseTimeNs = res.startTs;
      if (res.startTs >= req.startTs) ex.latencyNs = res.startTs - req.startTs;
    }
    return ex;
  }
}

function keptHeader(name: string, value: string): { key: string; value: string } {
  return { key: name.slice(0, 256), value: redactHeaderValue(name, value).slice(0, 8192) };
}
