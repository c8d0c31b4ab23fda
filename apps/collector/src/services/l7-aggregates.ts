/**
 * Kernel HTTP aggregates (signals mode, docs/l7-line-rate.md) → wire aggregate rows. Each drained key is one
 * (process, endpoints, role, method, status) over the drain window; its two endpoints are named once per key,
 * the way the collector names a connection's ends: the local process from its pid, comm and cgroup (self-marked
 * like every local endpoint), a same-host server from its listener, a remote peer by its DNS names or address.
 * Oriented the Hubble way (source = client) whichever end counted.
 */
import type { L7AggregateRecord } from '@sextant/bpf';
import type { Endpoint, L7AggregateInput } from '@sextant/shared';
import type { FlowAssembler } from './flow-assembler';

export interface L7AggregateStats {
  /** Keys drained from the kernel since start. */
  keys: number;
  /** Exchanges they counted. */
  exchanges: number;
  /** Server-role keys of same-host clients: the client's own key counts those exchanges. */
  skippedLocalServer: number;
}

/** An endpoint without a port: a client's ephemeral port is not part of an aggregate's key. */
function withoutPort(e: Endpoint): Endpoint {
  const { port: _port, ...rest } = e;
  return rest;
}

export class L7AggregateBuilder {
  readonly stats: L7AggregateStats = { keys: 0, exchanges: 0, skippedLocalServer: 0 };

  constructor(private readonly flows: FlowAssembler) {}

  /** The rows of one drain window [windowStart, windowStart + windowSeconds) (wall-clock ms). */
  rows(records: readonly L7AggregateRecord[], windowStart: number, windowSeconds: number): L7AggregateInput[] {
    const out: L7AggregateInput[] = [];
    const seconds = Math.min(3600, Math.max(0.001, windowSeconds));
    for (const r of records) {
      this.stats.keys++;
      // (a key with count 0 carries the later response bytes of exchanges counted in an earlier window)
      if (r.count <= 0 && r.requestBytes <= 0 && r.responseBytes <= 0) continue;
      const server = r.role === 'server';
      // Both ends on this host: its client's socket is counted too (the kernel does not even count the server
      // side of loopback connections), so the exchange is reported once, from the client's side.
      if (server && this.flows.isLocal(r.raddr)) {
        this.stats.skippedLocalServer++;
        continue;
      }
      this.stats.exchanges += r.count;
      const local = this.flows.localEndpoint(
        {
          ip: r.laddr,
          port: r.lport,
          pid: r.pid || undefined,
          comm: r.comm || undefined,
          cgroupId: r.cgroupId.toString(),
        },
        server,
      );
      // Client role: the server at raddr:rport, named like a client connection's server (listener table for
      // a same-host server). Server role: the remote client, by address (its port is ephemeral).
      const remote = server ? withoutPort(this.flows.peerEndpoint(r.raddr, 0, true)) : this.flows.peerEndpoint(r.raddr, r.rport, false);
      out.push({
        time: windowStart,
        windowSeconds: seconds,
        protocol: r.protocol,
        reporter: r.role,
        source: server ? remote : withoutPort(local),
        destination: server ? local : remote,
        method: r.method,
        code: r.status,
        count: r.count,
        latencySumNs: Number(r.latencySumNs),
        requestBytes: r.requestBytes,
        responseBytes: r.responseBytes,
        ...(r.tls ? { tls: r.tls } : {}),
        idx: r.idx,
        cnt: r.cnt,
      });
    }
    return out;
  }
}
