import { describe, expect, it } from 'vitest';
import { templatePath, templateSegment } from './http-path';

describe('path templating', () => {
  it.each([
    ['/users/42/orders', '/users/{id}/orders'],
    ['/orders/550e8400-e29b-41d4-a716-446655440000', '/orders/{uuid}'],
    ['/blobs/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', '/blobs/{hash}'],
    ['/commits/a94a8fe5ccb19ba6', '/commits/{hash}'],
    ['/users/jane.doe@example.com/profile', '/users/{email}/profile'],
    ['/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N', '/reset/{token}'],
    ['/s/Ab3dEf9hIjKlMnOpQrStUv', '/s/{token}'],
    ['/blog/introduction-to-tcp-congestion-control', '/blog/introduction-to-tcp-congestion-control'],
    ['/api/v2/items', '/api/v2/items'],
    ['/', '/'],
    ['', ''],
    ['/a//b/', '/a//b/'],
    ['/deadbeef', '/deadbeef'], // 8 hex chars: a word, not a hash
  ])('%s → %s', (path, template) => {
    expect(templatePath(path)).toBe(template);
  });

  it('keeps ordinary names', () => {
    for (const s of ['users', 'v1', 'healthz', 'index.html', 'café', 'a-b-c']) expect(templateSegment(s)).toBe(s);
  });

  it('bounds the template length', () => {
    expect(templatePath('/x'.repeat(2000)).length).toBe(1024);
  });
});
