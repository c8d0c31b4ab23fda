/**
 * Naming the far end of a connection: a process of this host from its listener (kept after it exits, under the
 * name it was first known by), the client end of a same-host connection from the client socket's own record, a
 * failed connect's destination as the last listener of the port or `ip:port`, else a remote peer.
 */
import type { TcpConnEvent } from '@sextant/bpf';
import type { Endpoint, EndpointIdentity } from '@sextant/shared';
import { localAddresses } from './clock';
import { endpointOf, type IdentityResolver } from './identity';
import type { ListenerTable } from './listeners';

/** A client end of a local connection names the server's record of it when their starts are this close. */
const LOCAL_PAIR_WINDOW_NS = 30e9;
/**
 * Client ends of connections between two sockets of this host: the server's record of the same connection
 * names its client from them (instead of a bare 127.0.0.1). One slot per client port, overwritten by the next
 * connection from that port, with the server port, both addresses and the start time checked on lookup. It
 * was a Map of the pairs; at tens of thousands of connections a second its inserts, deletes and evictions
 * were most of the time spent building a flow.
 */
export class LocalClients {
  private readonly identity = new Array<EndpointIdentity | null>(65536).fill(null);
  private readonly serverPort = new Uint16Array(65536);
  private readonly clientIp = new Array<string>(65536).fill('');
  private readonly serverIp = new Array<string>(65536).fill('');
  private readonly startNs = new Float64Array(65536);

  remember(client: TcpConnEvent, identity: EndpointIdentity): void {
    const p = client.sport;
    this.identity[p] = identity;
    this.serverPort[p] = client.dport;
    this.clientIp[p] = client.saddr;
    this.serverIp[p] = client.daddr;
    this.startNs[p] = Number(client.startNs);
  }

  /** The identity of the client end of the server's connection `server`, or null. */
  clientOf(server: TcpConnEvent): EndpointIdentity | null {
    const p = server.dport;
    const identity = this.identity[p];
    if (!identity || this.serverPort[p] !== server.sport || this.clientIp[p] !== server.daddr || this.serverIp[p] !== server.saddr)
      return null;
    if (Math.abs(Number(server.startNs) - this.startNs[p]!) > LOCAL_PAIR_WINDOW_NS) return null;
    if (server.final) this.identity[p] = null;
    return identity;
  }
}

export class PeerNaming {
  private readonly local = localAddresses();
  // `ip:port` identities of failed connects' unnamed destinations, shared so a batch sends each once.
  private readonly addressIdentities = new Map<string, EndpointIdentity>();
  /** Client ends of same-host connections, for their servers' records. */
  readonly localClients = new LocalClients();
  /** What runningAsRead found for an identity: the pid checked × 2, + 1 when it ran. */
  private readonly seenRunning = new WeakMap<EndpointIdentity, number>();

  constructor(
    private readonly nodeName: string,
    private readonly identity: IdentityResolver,
    private readonly listeners: ListenerTable,
  ) {}

  isLocal(ip: string): boolean {
    return this.local.has(ip);
  }

  /** The far end, named the way flows name it. */
  peer(ip: string, port: number, serverSide: boolean): Endpoint {
    return endpointOf(ip, port, this.peerIdentity(ip, port, serverSide));
  }

  /**
   * The far end: a process of this host when something here listens on that address (or, when it has
   * exited, the last named listener of the port), else a remote peer.
   */
  peerIdentity(ip: string, port: number, serverSide: boolean): EndpointIdentity | null {
    if (!serverSide && this.isLocal(ip)) {
      const pid = this.listeners.pidOf(port);
      if (pid !== undefined) return this.asListener(port, pid, this.identity.processIdentity(port, pid), true);
      const last = this.listeners.lastIdentityOf(port);
      if (last) return last;
    }
    return this.identity.remoteIdentity(ip);
  }

  /**
   * The local end of a server's socket (`identity`: its process's, read now): the same name the port's
   * clients give it. A connection's close is often read after its server was killed (the kernel closes the
   * killed process's sockets as it exits); /proc then says only the comm ('node'), and the record must still
   * be named after the service that served it.
   */
  serverIdentity(port: number, pid: number, identity: EndpointIdentity): EndpointIdentity {
    return pid > 0 ? this.asListener(port, pid, identity, false) : identity;
  }

  /**
   * `identity`, read now for the process `pid` listening on `port`, or the name the port's listener was
   * known by. Once killed, a listener's /proc says less (while it exits: no cwd, so no package.json name; a
   * zombie: only its comm, e.g. 'node'; then nothing), and what is read of the same pid then must not rename
   * the dead service: a pid keeps the name it was first known by on its port (a server that execs another
   * program keeps its first name there). Checked only when the identity was re-read (every 10 s per process),
   * not per connection. `unnamedAsLast`: an identity without a service name is the port's last listener's
   * (for a client naming the port it connects to; a server's own socket is its own process's).
   */
  private asListener(port: number, pid: number, identity: EndpointIdentity, unnamedAsLast: boolean): EndpointIdentity {
    const last = this.listeners.lastIdentityOf(port);
    if (identity === last) return last;
    if (last && this.listeners.lastPidOf(port) === pid && (identity.service !== last.service || !this.runningAsRead(pid, identity)))
      return last;
    if (!identity.service) return (unnamedAsLast ? last : undefined) ?? identity;
    this.listeners.rememberIdentity(port, pid, identity);
    return identity;
  }

  /**
   * Whether `pid` runs, asked of /proc once per identity read of it (`identity`, a frozen object the resolver makes
   * anew when it reads the process again: every 10 s; a pid reused meanwhile is found then), not once per connection:
   * this check was a readlink of /proc/<pid>/exe for every connection to a local server while its own records and its
   * clients' named the port with two identities that took turns as `last` (IdentityResolver.processIdentity now gives
   * its clients the one its own records have).
   */
  private runningAsRead(pid: number, identity: EndpointIdentity): boolean {
    const seen = this.seenRunning.get(identity);
    if (seen !== undefined && seen >> 1 === pid) return (seen & 1) === 1;
    const running = this.identity.isRunning(pid);
    this.seenRunning.set(identity, pid * 2 + (running ? 1 : 0));
    return running;
  }

  /**
   * The destination of a connect that failed and has no name of its own: the last service that listened
   * there when it is this host, else `ip:port` as its service — never the bare address, which every other
   * failure toward that host (or toward loopback) shares.
   */
  failedDestination(ip: string, port: number, known: EndpointIdentity | null): EndpointIdentity {
    if (known?.service || known?.names?.length) return known;
    const local = this.isLocal(ip);
    const last = local ? this.listeners.lastIdentityOf(port) : undefined;
    if (last) return last;
    const service = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    let identity = this.addressIdentities.get(service);
    if (!identity) {
      if (this.addressIdentities.size >= 10_000) this.addressIdentities.clear();
      identity = Object.freeze(local ? { service, hostName: this.nodeName } : { service });
      this.addressIdentities.set(service, identity);
    }
    return identity;
  }
}
