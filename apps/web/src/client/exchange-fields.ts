/**
 * The drawer's detail block for one L7 exchange: what a person reads first when they click a row — for HTTP
 * the URL, method, status, sizes, latency and the headers the collector kept (secrets redacted on the host);
 * for DNS the query, qtypes, rcode by name and the answers; for Kafka the api, topic and error code. Pure,
 * so it is tested without a browser.
 */
import { dnsRcodeName, httpStatusClass, l7StatusClass, L7_PROTOCOL_REGISTRY, statusTone, type L7Event } from '@sextant/shared';
import { formatBytes, formatNs } from './time-range';

export interface ExchangeField {
  label: string;
  value: string;
  /** How the value is shown: errors red, NXDOMAIN amber. */
  tone?: 'bad' | 'warn';
}

const toneOf = (t: 'bad' | 'warn' | 'ok') => (t === 'ok' ? undefined : t);
const sized = (n: number | undefined) => (n === undefined ? '–' : formatBytes(n));

export function exchangeFields(e: L7Event): ExchangeField[] {
  const out: ExchangeField[] = [
    { label: 'time', value: new Date(e.time).toISOString() },
    { label: 'protocol', value: `${L7_PROTOCOL_REGISTRY[e.protocol].label} ${e.type.toLowerCase()}` },
  ];
  const tone = toneOf(statusTone(l7StatusClass(e)));
  if (e.http) {
    const h = e.http;
    out.push(
      { label: 'method', value: h.method },
      { label: 'URL', value: h.url },
      { label: 'status', value: h.code === undefined ? 'no response seen' : `${h.code} (${httpStatusClass(h.code)})`, tone },
      { label: 'request / response', value: `${sized(h.requestBytes)} / ${sized(h.responseBytes)}` },
    );
    if (h.pathTemplate && h.pathTemplate !== h.path) out.push({ label: 'endpoint', value: `${h.method} ${h.pathTemplate}` });
    if (h.host) out.push({ label: 'host', value: h.host });
    out.push({ label: 'version', value: h.protocol });
  }
  if (e.dns) {
    const d = e.dns;
    out.push(
      { label: 'query', value: d.query },
      { label: 'qtypes', value: d.qtypes.join(', ') || '–' },
      { label: 'rcode', value: d.rcode === undefined ? 'no response seen' : `${dnsRcodeName(d.rcode)} (${d.rcode})`, tone },
      { label: 'answers', value: [...d.ips, ...d.cnames.map((c) => `CNAME ${c}`)].join(', ') || 'none' },
    );
    if (d.rrtypes.length) out.push({ label: 'answer types', value: d.rrtypes.join(', ') });
    if (d.ttl !== undefined) out.push({ label: 'TTL', value: `${d.ttl} s` });
    out.push({ label: 'transport', value: d.transport.toUpperCase() + (d.id === undefined ? '' : `, id ${d.id}`) });
  }
  if (e.kafka) {
    const k = e.kafka;
    out.push(
      { label: 'api', value: `${k.apiKey} v${k.apiVersion}` },
      { label: 'topic', value: k.topic ?? '–' },
      {
        label: 'error code',
        value: k.errorCode === undefined ? 'no response seen' : k.errorCode === 0 ? '0 (none)' : String(k.errorCode),
        tone,
      },
      { label: 'client', value: `${k.clientId ?? '–'}, correlation id ${k.correlationId}` },
    );
  }
  out.push({ label: 'latency', value: formatNs(e.latencyNs) });
  return out;
}

/** Headers as the collector kept them (Authorization, Cookie and Set-Cookie values are redacted on the host). */
export function exchangeHeaders(e: L7Event): { key: string; value: string }[] {
  return e.http?.headers ?? [];
}
