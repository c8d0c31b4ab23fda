/**
 * gRPC filters (`--grpc-method`, `--grpc-status`): parsed from observe flags (status names → codes), validated
 * by the filter schema, matched by the pure matcher (the SQL compiler's twin: db filter-sql-grpc.test.ts), and
 * the HTTP flags applied to HTTP/2 exchanges as to HTTP/1.
 */
import { describe, expect, it } from 'vitest';
import { FlowQueryFilter } from './filter';
import { L7Event, type L7EventInput } from './flow';
import { matchesQuery, matchFlow } from './matcher';
import { ObserveArgsError, parseObserveArgs } from './observe-args';

const call = (service: string, method: string, status?: number): L7Event =>
  L7Event.parse({
    id: crypto.randomUUID(),
    flowId: crypto.randomUUID(),
    time: 1,
    nodeName: 'n',
    type: 'RESPONSE',
    protocol: 'http',
    source: { ip: '10.0.0.1', port: 40000 },
    destination: { ip: '10.0.0.2', port: 50051 },
    http: {
      method: 'POST',
      url: `/${service}/${method}`,
      path: `/${service}/${method}`,
      protocol: 'HTTP/2',
      code: 200,
      grpc: { service, method, ...(status === undefined ? {} : { status }) },
    } satisfies L7EventInput['http'],
  });
const events = {
  getOk: call('shop.Cart', 'Get', 0),
  getMissing: call('shop.Cart', 'Get', 5),
  addFailed: call('shop.Cart', 'Add', 14),
  pay: call('shop.Pay', 'Charge', 0),
  noTrailers: call('shop.Pay', 'Charge'),
};
const match = (args: string[]) =>
  Object.entries(events)
    .filter(([, e]) => matchesQuery({ kind: 'l7', event: e }, FlowQueryFilter.parse(parseObserveArgs(args).filter)))
    .map(([k]) => k);

describe('gRPC filters', () => {
  it('--grpc-method: service/method or a whole service; --grpc-status: codes or names', () => {
    expect(parseObserveArgs(['--grpc-method', 'shop.Cart/Get', '--grpc-status', 'not_found', '--grpc-status', '14']).filter.allow).toEqual([
      { grpcMethod: ['shop.Cart/Get'], grpcStatus: ['5', '14'] },
    ]);
    expect(match(['--grpc-method', 'shop.Cart/Get'])).toEqual(['getOk', 'getMissing']);
    expect(match(['--grpc-method', 'shop.Cart'])).toEqual(['getOk', 'getMissing', 'addFailed']);
    expect(match(['--grpc-status', 'OK'])).toEqual(['getOk', 'pay']);
    expect(match(['--grpc-method', 'shop.Cart', '--grpc-status', 'UNAVAILABLE'])).toEqual(['addFailed']);
    expect(match(['--grpc-method', 'shop.Pay', '--not', '--grpc-status', '0'])).toEqual(['noTrailers']);
    expect(match(['--http-method', 'post', '--http-path', '^/shop\\.Pay/'])).toEqual(['pay', 'noTrailers']);
  });
  it('rejects unknown status names and malformed methods; never matches L3/L4 flows', () => {
    expect(() => parseObserveArgs(['--grpc-status', 'NOPE'])).toThrow(ObserveArgsError);
    expect(FlowQueryFilter.safeParse({ allow: [{ grpcMethod: ['a/b/c'] }] }).success).toBe(false);
    expect(FlowQueryFilter.safeParse({ allow: [{ grpcStatus: ['OK'] }] }).success).toBe(false);
    const flow = { source: { ip: '10.0.0.1', port: 1 }, destination: { ip: '10.0.0.2', port: 2 } } as Parameters<typeof matchFlow>[0];
    expect(matchFlow(flow, { grpcStatus: ['0'] })).toBe(false);
  });
});
