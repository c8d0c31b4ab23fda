/**
 * The contract between the kernel capture (packages/bpf → collector.ts) and the pure-TS L7 engine in this
 * folder. The kernel hands over the first bytes of every send/receive syscall on a socket; the engine
 * reassembles each direction of each connection, detects the protocol, parses, pairs requests with
 * responses and returns finished exchanges. It never throws on bad bytes: they are counted as unparsed.
 */
import type { DnsInfo, HttpInfo, KafkaInfo, L7Protocol, L7Sampling } from '@sextant/shared';
import type { z } from 'zod';

/** One send/receive syscall's data as captured by the kernel. */
export interface L7Chunk {
  /** Connection identity: the kernel socket address (TcpConnEvent.sockId for TCP), or the UDP socket's. */
  connId: bigint;
  transport: 'tcp' | 'udp';
  /** egress: this process wrote the bytes; ingress: it read them. */
  direction: 'egress' | 'ingress';
  /** CLOCK_MONOTONIC nanoseconds of the syscall (exit for reads, entry for writes). */
  timestampNs: bigint;
  /** The first captured bytes of the call (possibly fewer than totalLength). */
  data: Buffer;
  /** Bytes the syscall actually moved; bytes past data.length were not captured (a known-length gap). */
  totalLength: number;
  /** UDP only: the datagram's peer (for DNS over unconnected sockets). */
  peer?: { ip: string; port: number };
  /**
   * Why the kernel copied this chunk of an exchange it also counted in its aggregates (signals mode: the
   * request and the response of a kept exchange carry the same reason); absent on the full path.
   */
  sampling?: L7Sampling;
}

export type HttpDetails = z.input<typeof HttpInfo>;
export type DnsDetails = z.input<typeof DnsInfo>;
export type KafkaDetails = z.input<typeof KafkaInfo>;

/** A request paired with its response (or a request whose response never came, at connection close). */
export interface L7Exchange {
  connId: bigint;
  protocol: L7Protocol;
  /** Which end of the exchange this host's process is. */
  role: 'client' | 'server';
  requestTimeNs: bigint;
  /** First response bytes; absent when no response was seen. */
  responseTimeNs?: bigint;
  /** responseTimeNs − requestTimeNs, when both are known. */
  latencyNs?: bigint;
  http?: HttpDetails;
  dns?: DnsDetails;
  kafka?: KafkaDetails;
  /** The response's sampling reason (its request's is the same): the exchange is counted by kernel aggregates. */
  sampling?: L7Sampling;
}

export interface L7Options {
  /** Query-string parameters whose values are replaced by "REDACTED" (case-insensitive); '*' = all. */
  redactQueryParams?: string[];
  /** Header names kept on HTTP events (values of Authorization, Cookie, Set-Cookie always redacted). */
  keepHeaders?: string[];
  /** Connections tracked at once (LRU beyond that, counted as evicted). */
  maxConnections?: number;
  /** Bytes buffered per direction while waiting for a message to complete. */
  maxBufferBytes?: number;
  /** Requests waiting for responses per connection (oldest dropped beyond, counted). */
  maxPendingPerConnection?: number;
}

export interface L7Stats {
  parsedBytes: number;
  unparsedBytes: number;
  exchanges: number;
  /** Requests dropped unanswered (connection closed, pending limit). */
  unanswered: number;
  evictedConnections: number;
  byProtocol: Record<L7Protocol, number>;
  /** Responses that matched no waiting request (capture started mid-connection, requests lost in a gap). */
  orphanResponses: number;
  /**
   * Halves of kernel-sampled exchanges whose other half never came (a record lost in a full ring): dropped,
   * never paired with another exchange's half; the exchange itself is counted by the kernel aggregates.
   */
  unmatchedSampled: number;
  /** Chunks rejected because they did not have the L7Chunk shape. */
  invalidChunks: number;
  /** Parser bugs caught by the engine (the connection's bytes are then counted unparsed). */
  internalErrors: number;
  /** Connections tracked now. */
  connections: number;
}
