/**
 * Per-request context: the database handles, the caller's credentials as presented (Bearer token or
 * session cookie) and the client's address. Who the caller is gets resolved by the procedure builders
 * (callerUser / authenticateCollector), not here.
 */
import { apiTokenUser, sessionUser, type Db, type SessionUser } from '@sextant/db';
import { peerOf, type Peer } from './http/peer';

export const SESSION_COOKIE = 'sextant_session';

export interface ServerDeps {
  db: Db;
  /** Version string reported by /api/health and to collectors. */
  version: string;
  /** Called after a batch is stored, e.g. to wake live-tail subscribers. */
  onIngest?: (info: { collectorId: string; flows: number; l7: number }) => void;
  /** On-demand capture timing of live tails (defaults: 30 s lifetime, renewed every 10 s); tests shorten them. */
  capture?: { ttlMs?: number; renewMs?: number };
}

export interface Context extends ServerDeps {
  bearer: string | null;
  sessionToken: string | null;
  peer: Peer;
  /** Adds a Set-Cookie header to the response. */
  setCookie: (cookie: string) => void;
  /** Sets a response header (Retry-After). */
  setHeader: (name: string, value: string) => void;
}

export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // A malformed escape in someone else's cookie must not fail the request: that cookie is ignored.
    }
  }
  return out;
}

export interface Credentials {
  bearer: string | null;
  sessionToken: string | null;
}

export function credentialsOf(headers: Headers): Credentials {
  const auth = headers.get('authorization');
  const bearer = auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null;
  const sessionToken = parseCookies(headers.get('cookie')).get(SESSION_COOKIE) ?? null;
  return { bearer, sessionToken };
}

/**
 * The signed-in user behind the credentials: a session (cookie, or `sxs_` Bearer for the CLI) or a personal
 * API token (`sxu_` Bearer). `viaSession` says which: only sessions may mint API tokens.
 */
export async function callerUser(
  db: Db,
  c: Credentials,
): Promise<{ user: SessionUser; sessionToken: string | null; viaSession: boolean } | null> {
  const token = c.sessionToken ?? (c.bearer?.startsWith('sxs_') ? c.bearer : null);
  if (token) {
    const user = await sessionUser(db.prisma, token);
    return user ? { user, sessionToken: token, viaSession: true } : null;
  }
  const user = c.bearer?.startsWith('sxu_') ? await apiTokenUser(db.prisma, c.bearer) : null;
  return user ? { user, sessionToken: null, viaSession: false } : null;
}

export interface ResponseHooks {
  setCookie: (cookie: string) => void;
  setHeader: (name: string, value: string) => void;
}

export function createContext(deps: ServerDeps, headers: Headers, hooks: ResponseHooks, trustProxy = false): Context {
  return { ...deps, ...credentialsOf(headers), peer: peerOf(headers, trustProxy), ...hooks };
}
