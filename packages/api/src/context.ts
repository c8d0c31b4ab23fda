/**
 * Per-request context: the database handles and the caller's credentials as presented (Bearer token or
 * session cookie). Who the caller is gets resolved by the procedure builders, not here.
 */
import type { Db } from '@sextant/db';

export const SESSION_COOKIE = 'sextant_session';

export interface ServerDeps {
  db: Db;
  /** Version string reported by /api/health and to collectors. */
  version: string;
  /** Called after a batch is stored, e.g. to wake live-tail subscribers. */
  onIngest?: (info: { collectorId: string; flows: number; l7: number }) => void;
}

export interface Context extends ServerDeps {
  bearer: string | null;
  sessionToken: string | null;
  /** Adds a Set-Cookie header to the response. */
  setCookie: (cookie: string) => void;
}

export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

export function createContext(deps: ServerDeps, headers: Headers, setCookie: (c: string) => void): Context {
  const auth = headers.get('authorization');
  const bearer = auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null;
  const sessionToken = parseCookies(headers.get('cookie')).get(SESSION_COOKIE) ?? null;
  return { ...deps, bearer, sessionToken, setCookie };
}
