import type { L7Event } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { exchangeFields, exchangeHeaders } from './exchange-fields';

const ep = { ip: '10.0.0.1', port: 443 };
const at = Date.UTC(2026, 0, 2, 3, 4, 5);
const ev = (over: Partial<L7Event>): L7Event =>
  ({ id: 'e', flowId: 'f', time: at, nodeName: 'n', type: 'RESPONSE', protocol: 'http', source: ep, destination: ep, ...over }) as L7Event;
const get = (e: L7Event) => Object.fromEntries(exchangeFields(e).map((f) => [f.label, f]));

describe('exchange detail block', () => {
  it('shows an HTTP exchange: URL, method, status with its class, sizes, latency, kept headers', () => {
    const e = ev({
      latencyNs: 812_000_000,
      http: {
        method: 'POST',
        url: 'http://shop/api/checkout?token=[redacted]',
        path: '/api/checkout',
        pathTemplate: '/api/checkout',
        protocol: 'HTTP/1.1',
        code: 502,
        headers: [{ key: 'Authorization', value: '[redacted]' }],
        requestBytes: 2048,
        responseBytes: 120,
      },
    });
    const f = get(e);
    expect(f.method?.value).toBe('POST');
    expect(f.URL?.value).toBe('http://shop/api/checkout?token=[redacted]');
    expect(f.status).toEqual({ label: 'status', value: '502 (5xx)', tone: 'bad' });
    expect(f['request / response']?.value).toBe('2.0 KiB / 120 B');
    expect(f.latency?.value).toMatch(/812/);
    expect(f.endpoint).toBeUndefined(); // template equal to the path: said once
    expect(exchangeHeaders(e)).toEqual([{ key: 'Authorization', value: '[redacted]' }]);
    expect(get(ev({ http: { method: 'GET', url: '/x', path: '/x', protocol: 'HTTP/1.1', headers: [] } })).status).toMatchObject({
      value: 'no response seen',
    });
  });

  it('names DNS rcodes and lists qtypes and answers', () => {
    const nx = get(
      ev({
        protocol: 'dns',
        dns: { query: 'db.shop.', qtypes: ['A', 'AAAA'], rcode: 3, ips: [], cnames: [], rrtypes: [], transport: 'udp', id: 4660 },
      }),
    );
    expect(nx.rcode).toEqual({ label: 'rcode', value: 'NXDOMAIN (3)', tone: 'warn' });
    expect(nx.qtypes?.value).toBe('A, AAAA');
    expect(nx.answers?.value).toBe('none');
    expect(nx.transport?.value).toBe('UDP, id 4660');
    const ok = get(
      ev({
        protocol: 'dns',
        dns: {
          query: 'api.',
          qtypes: ['A'],
          rcode: 0,
          ips: ['10.1.2.3'],
          cnames: ['lb.'],
          rrtypes: ['CNAME', 'A'],
          ttl: 30,
          transport: 'tcp',
        },
      }),
    );
    expect(ok.rcode).toEqual({ label: 'rcode', value: 'NOERROR (0)' });
    expect(ok.answers?.value).toBe('10.1.2.3, CNAME lb.');
    expect(ok.TTL?.value).toBe('30 s');
    expect(
      get(ev({ protocol: 'dns', dns: { query: 'x.', qtypes: [], rcode: 2, ips: [], cnames: [], rrtypes: [], transport: 'udp' } })).rcode,
    ).toMatchObject({ value: 'SERVFAIL (2)', tone: 'bad' });
    expect(
      get(ev({ protocol: 'dns', dns: { query: 'x.', qtypes: [], rcode: 23, ips: [], cnames: [], rrtypes: [], transport: 'udp' } })).rcode
        ?.value,
    ).toBe('RCODE23 (23)');
  });

  it('shows Kafka api, topic and error code', () => {
    const f = get(
      ev({
        protocol: 'kafka',
        kafka: { apiKey: 'Produce', apiVersion: 9, correlationId: 7, clientId: 'orders-svc', topic: 'orders', errorCode: 6 },
      }),
    );
    expect(f.api?.value).toBe('Produce v9');
    expect(f.topic?.value).toBe('orders');
    expect(f['error code']).toEqual({ label: 'error code', value: '6', tone: 'bad' });
    expect(get(ev({ protocol: 'kafka', kafka: { apiKey: 'Fetch', apiVersion: 1, correlationId: 1, errorCode: 0 } }))['error code']).toEqual(
      { label: 'error code', value: '0 (none)' },
    );
  });
});
