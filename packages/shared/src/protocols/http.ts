/** HTTP/1.x: an exchange is a request with its response; 5xx are errors. */
import type { z } from 'zod';
import type { HttpInfo } from '../flow';
import type { StatusClass } from '../status';
import { compact, type L7ProtocolSpec } from './spec';

export function httpStatusClass(code: number | undefined): StatusClass {
  if (code === undefined || code === 0) return 'none';
  const c = Math.floor(code / 100);
  return c >= 1 && c <= 5 ? (`${c}xx` as StatusClass) : 'error';
}

function absoluteUrl(url: string, host: string | undefined): string {
  return url.startsWith('/') && host ? `http://${host}${url}` : url;
}

interface HubbleHttp {
  code?: number | string;
  method?: string;
  url?: string;
  protocol?: string;
  headers?: { key: string; value?: string }[];
}

export const httpProtocol: L7ProtocolSpec = {
  label: 'HTTP',
  transports: ['tcp'],
  summary: (e) => (e.http ? `${e.http.method} ${e.http.path} → ${e.http.code ?? '…'}` : 'HTTP'),
  statusClass: (e) => httpStatusClass(e.http?.code),
  toHubble: (e) =>
    e.http &&
    compact({
      code: e.http.code,
      method: e.http.method,
      url: absoluteUrl(e.http.url, e.http.host),
      protocol: e.http.protocol,
      headers: e.http.headers.map((h) => ({ key: h.key, value: h.value })),
    }),
  fromHubble(h: HubbleHttp) {
    const url = h.url ?? '';
    const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url);
    const rest = abs ? url.slice(abs[0].length) || '/' : url;
    const q = rest.search(/[?#]/);
    const http: z.input<typeof HttpInfo> = {
      method: h.method ?? '',
      url,
      path: q >= 0 ? rest.slice(0, q) : rest,
      protocol: h.protocol || 'HTTP/1.1',
      headers: (h.headers ?? []).map((x) => ({ key: x.key, value: x.value ?? '' })),
    };
    if (abs?.[1]) http.host = abs[1];
    if (h.code) http.code = Number(h.code);
    return http;
  },
};
