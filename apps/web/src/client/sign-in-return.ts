/**
 * Sign-in returns to the page you came from: a page that finds no session sends you to
 * `/login?next=<path+query>` and the login page goes there after signing in, so deep links (Grafana panel
 * links, links pasted in chat) survive a login. Only same-origin paths are followed — an absolute URL,
 * `//host`, `/\host` or anything that resolves to another origin falls back to the map, so the parameter
 * cannot be used as an open redirect.
 */
export const AFTER_SIGN_IN = '/map';
const BASE = 'http://sextant.invalid';

/** The same-origin path (with query and fragment) to go to after signing in; the map when `raw` is not one. */
export function safeNextPath(raw: string | null | undefined): string {
  if (!raw || raw.length > 4096) return AFTER_SIGN_IN;
  // A path, not a scheme-relative URL: one slash, then neither a slash nor a backslash (browsers read `/\` as `//`).
  if (!/^\/(?![/\\])/.test(raw)) return AFTER_SIGN_IN;
  // eslint-disable-next-line no-control-regex -- control characters (tabs and newlines are dropped by URL parsers) are refused
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return AFTER_SIGN_IN;
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return AFTER_SIGN_IN;
  }
  if (url.origin !== BASE) return AFTER_SIGN_IN;
  if (url.pathname === '/login' || url.pathname.startsWith('/api/')) return AFTER_SIGN_IN;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The login page's URL carrying where to return (`pathAndQuery` as `location.pathname + location.search`). */
export function loginHref(pathAndQuery: string): string {
  const next = safeNextPath(pathAndQuery);
  return next === AFTER_SIGN_IN && pathAndQuery !== AFTER_SIGN_IN ? '/login' : `/login?next=${encodeURIComponent(next)}`;
}
