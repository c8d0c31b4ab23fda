/**
 * Who is calling: the client's address (per-address login throttling) and whether the connection is HTTPS
 * (Secure cookies). Both come from the socket; X-Forwarded-For / X-Forwarded-Proto count only when
 * SEXTANT_TRUST_PROXY says a reverse proxy in front of Sextant sets them.
 *
 * Next.js route handlers get a web Request without the socket, and Next fills X-Forwarded-For only when the
 * client did not send one (`??=`), so a client could choose its own address. The server therefore stamps
 * the socket's address on every request itself (stampPeersOnAllServers, run from the web app's
 * instrumentation hook), with a per-process secret so that a client-sent copy of the header is ignored.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

export const PEER_HEADER = 'x-sextant-peer';

// One secret per process, shared by every bundle that includes this module (Next compiles the
// instrumentation hook and the route handlers into separate bundles, each with its own module instance).
const KEY = Symbol.for('sextant.peer-secret');
const g = globalThis as unknown as Record<symbol, string | undefined>;
function secret(): string {
  g[KEY] ??= randomBytes(16).toString('hex');
  return g[KEY];
}

/** Overwrites the peer header of a Node request with what its socket says (anything the client sent is lost). */
export function stampPeer(req: http.IncomingMessage): void {
  const tls = (req.socket as Partial<TLSSocket>).encrypted === true;
  req.headers[PEER_HEADER] = `${secret()} ${tls ? 'https' : 'http'} ${req.socket.remoteAddress ?? 'unknown'}`;
}

const PATCHED = Symbol.for('sextant.peer-stamp');

/** Stamps every request of every HTTP(S) server of this process, before any 'request' listener sees it. */
export function stampPeersOnAllServers(): void {
  for (const proto of [http.Server.prototype, https.Server.prototype] as unknown as Record<symbol | string, unknown>[]) {
    if (proto[PATCHED]) continue;
    const emit = proto.emit as (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
    proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
      if (event === 'request') stampPeer(args[0] as http.IncomingMessage);
      return emit.call(this, event, ...args);
    };
    proto[PATCHED] = true;
  }
}

export interface Peer {
  /** The client's address; with a trusted proxy, the address that proxy saw. */
  address: string;
  /** The client reached us over HTTPS (directly, or at a trusted proxy). */
  secure: boolean;
}

/** The rightmost X-Forwarded-For entry: the one our own proxy appended (entries left of it are the client's word). */
function forwardedFor(headers: Headers): string | null {
  const parts = (headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.at(-1) ?? null;
}

export function peerOf(headers: Headers, trustProxy: boolean): Peer {
  const [key, scheme, address] = (headers.get(PEER_HEADER) ?? '').split(' ');
  const stamped = key === secret() && address ? { address, secure: scheme === 'https' } : null;
  if (trustProxy) {
    const proto = headers.get('x-forwarded-proto')?.split(',')[0]?.trim();
    return { address: forwardedFor(headers) ?? stamped?.address ?? 'unknown', secure: proto === 'https' || (stamped?.secure ?? false) };
  }
  // Not stamped (a server without the hook, e.g. `next dev`): Next's own X-Forwarded-For is the socket's
  // address unless the client sent one, which is the best left; never trust a claimed HTTPS.
  return stamped ?? { address: forwardedFor(headers) ?? 'unknown', secure: false };
}
