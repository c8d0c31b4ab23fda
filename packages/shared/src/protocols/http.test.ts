/**
 * HTTP/2 and gRPC in the HTTP protocol entry: status classes (gRPC by grpc-status, resets by error code), the
 * one-line summary, and Hubble jsonpb both ways (`l7.http` with protocol HTTP/2; the gRPC outcome as the
 * grpc-status / grpc-message headers gRPC itself sends, read back into the gRPC details).
 */
import { describe, expect, it } from 'vitest';
import { L7Event, type L7EventInput } from '../flow';
import { toHubbleJson, toHubbleJsonLine } from '../hubble';
import { fromHubbleJson } from '../hubble-import';
import { isErrorClass, l7StatusClass, l7Summary } from '../status';
import { grpcStatusClass, grpcStatusName } from './http';

const endpoint = (ip: string, port: number) => ({ ip, port, labels: [] });
const event = (http: NonNullable<L7EventInput['http']>) =>
  L7Event.parse({
    id: '0b5e2c1a-6f3d-4a7b-9c8e-1d2f3a4b5c6d',
    flowId: '1c6f3d2b-7a4e-4b8c-8d9f-2e3a4b5c6d7e',
    time: Date.UTC(2026, 11, 5, 12),
    nodeName: 'host-1',
    type: 'RESPONSE',
    protocol: 'http',
    latencyNs: 4_000_000,
    source: endpoint('10.0.0.1', 40000),
    destination: endpoint('10.0.0.2', 50051),
    http,
  });
const grpcCall = (status?: number, message?: string) =>
  event({
    method: 'POST',
    url: '/shop.Cart/AddItem',
    path: '/shop.Cart/AddItem',
    host: 'cart:50051',
    protocol: 'HTTP/2',
    code: 200,
    streamId: 7,
    headers: [{ key: 'content-type', value: 'application/grpc' }],
    grpc: { service: 'shop.Cart', method: 'AddItem', ...(status === undefined ? {} : { status }), ...(message ? { message } : {}) },
  });

describe('gRPC status classes', () => {
  it('maps every status the way gRPC maps it to HTTP: OK 2xx, caller mistakes 4xx, server failures 5xx (errors)', () => {
    const classes = Array.from({ length: 17 }, (_, s) => grpcStatusClass(s));
    expect(classes).toEqual([
      '2xx',
      '4xx',
      '5xx',
      '4xx',
      '5xx',
      '4xx',
      '4xx',
      '4xx',
      '4xx',
      '4xx',
      '4xx',
      '4xx',
      '5xx',
      '5xx',
      '5xx',
      '5xx',
      '4xx',
    ]);
    expect(grpcStatusClass(17)).toBe('error');
    expect([0, 5, 13, 14].map(grpcStatusName)).toEqual(['OK', 'NOT_FOUND', 'INTERNAL', 'UNAVAILABLE']);
  });
  it('an exchange: grpc-status decides over :status 200; no trailers seen falls back to :status', () => {
    expect(l7StatusClass(grpcCall(0))).toBe('2xx');
    expect(l7StatusClass(grpcCall(14))).toBe('5xx');
    expect(isErrorClass(l7StatusClass(grpcCall(14)))).toBe(true);
    expect(isErrorClass(l7StatusClass(grpcCall(5)))).toBe(false);
    expect(l7StatusClass(grpcCall())).toBe('2xx');
  });
  it('HTTP/2 resets: an error code is an error, NO_ERROR and the client cancelling are not', () => {
    const reset = (r: string, code?: number) =>
      event({ method: 'GET', url: '/a', path: '/a', protocol: 'HTTP/2', reset: r, ...(code ? { code } : {}) });
    expect(l7StatusClass(reset('INTERNAL_ERROR'))).toBe('error');
    expect(l7StatusClass(reset('REFUSED_STREAM', 200))).toBe('error');
    expect(l7StatusClass(reset('INTERNAL_ERROR', 503))).toBe('5xx');
    expect(l7StatusClass(reset('CANCEL'))).toBe('none');
    expect(l7StatusClass(reset('NO_ERROR', 200))).toBe('2xx');
  });
});

describe('HTTP/2 summaries', () => {
  it('names gRPC calls by service/method and status name, marks resets and undecodable streams', () => {
    expect(l7Summary(grpcCall(5, 'no such cart'))).toBe('gRPC shop.Cart/AddItem → NOT_FOUND');
    expect(l7Summary(grpcCall())).toBe('gRPC shop.Cart/AddItem → 200');
    expect(l7Summary(event({ method: 'GET', url: '/a', path: '/a', protocol: 'HTTP/2', reset: 'CANCEL' }))).toBe(
      'GET /a → … (reset CANCEL)',
    );
    expect(
      l7Summary(event({ method: '', url: '', path: '', protocol: 'HTTP/2', streamId: 9, code: 201, notDecodable: 'table-lost' })),
    ).toBe('HTTP/2 stream 9 → 201 (headers not decodable: table-lost)');
  });
});

describe('HTTP/2 and gRPC in Hubble jsonpb', () => {
  it('exports l7.http with protocol HTTP/2 and the gRPC outcome as headers; importing gives the same event back', () => {
    const e = grpcCall(5, 'no such cart');
    const line = toHubbleJson(e).flow;
    expect(line.l7?.http).toEqual({
      code: 200,
      method: 'POST',
      url: 'http://cart:50051/shop.Cart/AddItem',
      protocol: 'HTTP/2',
      headers: [
        { key: 'content-type', value: 'application/grpc' },
        { key: 'grpc-status', value: '5' },
        { key: 'grpc-message', value: 'no such cart' },
      ],
    });
    expect(line.Summary).toBe('HTTP/2 200 4ms (POST http://cart:50051/shop.Cart/AddItem)');
    const back = fromHubbleJson(toHubbleJsonLine(e));
    if (back.kind !== 'l7') throw new Error(back.kind);
    expect(back.event.http?.grpc).toEqual({ service: 'shop.Cart', method: 'AddItem', status: 5, message: 'no such cart' });
    expect(back.event.http?.headers).toEqual([{ key: 'content-type', value: 'application/grpc' }]);
    expect(toHubbleJsonLine(back.event)).toBe(toHubbleJsonLine(e));
  });
});
