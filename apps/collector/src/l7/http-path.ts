/**
 * Path templating for aggregation: segments that are identifiers (numbers, UUIDs, hashes, opaque tokens,
 * e-mail addresses) become placeholders so "/users/42/orders" and "/users/43/orders" count as one route.
 * The raw path stays on the event; only the template is used to group.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{16,}$/i;
const NUMBER = /^-?\d+$/;
const EMAIL = /^[^@\s/]+@[^@\s/]+\.[a-z]{2,}$/i;
const BASE64ISH = /^[A-Za-z0-9_\-+=.~]+$/;
/** A route segment longer than this is never a name a developer typed into a router. */
const TOKEN_MIN = 20;
const MAX_TEMPLATE = 1024;

/** The placeholder for one path segment, or the segment itself when it looks like a name. */
export function templateSegment(segment: string): string {
  if (segment.length === 0) return segment;
  if (NUMBER.test(segment)) return '{id}';
  if (segment.length === 36 && UUID.test(segment)) return '{uuid}';
  if (segment.length >= 16 && HEX.test(segment)) return '{hash}';
  if (segment.includes('@') && EMAIL.test(segment)) return '{email}';
  if (segment.length >= TOKEN_MIN && isToken(segment)) return '{token}';
  return segment;
}

/** Long runs of base64/base64url characters that mix digits with letters (or both letter cases). */
function isToken(segment: string): boolean {
  if (!BASE64ISH.test(segment)) return false;
  let digits = 0;
  let upper = 0;
  let lower = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
  }
  // "introduction-to-tcp-congestion-control" is a slug, not a token: require digits mixed into letters,
  // or mixed case with few separators, as base64 has.
  if (digits >= 2 && upper + lower >= 2 && digits + upper + lower >= segment.length * 0.8) return true;
  return upper >= 2 && lower >= 2 && digits >= 1;
}

/** "/users/42/orders/9f1c…" → "/users/{id}/orders/{hash}"; the query string must already be removed. */
export function templatePath(path: string): string {
  const out = path.split('/').map(templateSegment).join('/');
  return out.length > MAX_TEMPLATE ? out.slice(0, MAX_TEMPLATE) : out;
}
