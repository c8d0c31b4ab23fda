import { describe, expect, it } from 'vitest';
import { endpointName, endpointQuery, pathTemplateRegex } from './endpoints';

const http = { protocol: 'http', method: 'POST', path: '/api/checkout', qtype: null, topic: null, apiKey: null };

describe('endpoints', () => {
  it('names HTTP, DNS and Kafka endpoints', () => {
    expect(endpointName(http)).toBe('POST /api/checkout');
    expect(endpointName({ ...http, protocol: 'dns', qtype: 'AAAA' })).toBe('DNS AAAA');
    expect(endpointName({ ...http, protocol: 'kafka', topic: 'orders', apiKey: 'Produce' })).toBe('Produce orders');
  });

  it('a path template becomes an anchored regex: a placeholder is one segment, the rest literal', () => {
    const re = new RegExp(pathTemplateRegex('/api/orders/{id}/items.json'));
    expect(re.test('/api/orders/123/items.json')).toBe(true);
    expect(re.test('/api/orders/123/items-json')).toBe(false);
    expect(re.test('/api/orders/1/2/items.json')).toBe(false);
    expect(re.test('/x/api/orders/1/items.json')).toBe(false);
  });

  it('links to exactly the endpoint flows towards the service', () => {
    expect(endpointQuery('shop/orders-api', http)).toBe(
      "--to-service orders-api --to-namespace shop --protocol http --http-method POST --http-path '^/api/checkout$'",
    );
    expect(endpointQuery('broker', { protocol: 'kafka', method: null, path: null, topic: 'orders' })).toBe(
      '--to-service broker --protocol kafka --kafka-topic orders',
    );
  });
});
