/**
 * Redaction before anything leaves the host: credentials in headers are always replaced, and chosen
 * query-string parameters (or all of them) lose their values. Names are compared case-insensitively,
 * after percent-decoding, so "API%5FKEY" is caught like "api_key".
 */

export const REDACTED = 'REDACTED';
export const DEFAULT_REDACT_QUERY_PARAMS = ['token', 'access_token', 'api_key', 'apikey', 'password', 'secret', 'sig', 'signature'];
/** Header values that are credentials: always redacted, even when the header is configured as kept. */
export const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export function redactHeaderValue(name: string, value: string): string {
  return SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** A matcher built once from the configured list ('*' = every parameter). */
export class QueryRedactor {
  private readonly all: boolean;
  private readonly names: Set<string>;

  constructor(params: readonly string[] = DEFAULT_REDACT_QUERY_PARAMS) {
    this.all = params.includes('*');
    this.names = new Set(params.map((p) => p.toLowerCase()));
  }

  /** Returns the request target with the values of matching query parameters replaced. */
  redactTarget(target: string): string {
    const q = target.indexOf('?');
    if (q < 0 || (!this.all && this.names.size === 0)) return target;
    const hash = target.indexOf('#', q);
    const query = hash < 0 ? target.slice(q + 1) : target.slice(q + 1, hash);
    const rest = hash < 0 ? '' : target.slice(hash);
    const parts = query.split('&').map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      const name = part.slice(0, eq);
      return this.all || this.names.has(decodeName(name)) ? `${name}=${REDACTED}` : part;
    });
    return `${target.slice(0, q + 1)}${parts.join('&')}${rest}`;
  }
}
