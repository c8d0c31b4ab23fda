import { describe, expect, it } from 'vitest';
import { ObserveArgsError, parseFilterText, parseObserveArgs, splitArgs } from './observe-args';

const NOW = Date.UTC(2026, 10, 24, 12);

describe('hubble observe flags', () => {
  it('ANDs different flags and ORs repeated ones', () => {
    const q = parseObserveArgs(
      ['--to-service', 'payments', '--to-service', 'billing', '--http-status', '5+', '--verdict', 'forwarded'],
      NOW,
    );
    expect(q.filter).toEqual({
      allow: [{ destinationService: ['payments', 'billing'], httpStatusCode: ['5+'], verdict: ['FORWARDED'] }],
      deny: [],
    });
  });

  it('turns either-side flags into one filter per side, combined with the rest', () => {
    const q = parseObserveArgs(['--ip', '10.0.0.1', '--protocol', 'tcp'], NOW);
    expect(q.filter.allow).toEqual([
      { sourceIp: ['10.0.0.1'], protocol: ['tcp'] },
      { destinationIp: ['10.0.0.1'], protocol: ['tcp'] },
    ]);
  });

  it('puts all either-side flags on the source in one filter and on the destination in the other, like hubble', () => {
    const q = parseObserveArgs(['--namespace', 'shop', '--port', '8080', '--verdict', 'DROPPED'], NOW);
    expect(q.filter.allow).toEqual([
      { sourceNamespace: ['shop'], sourcePort: ['8080'], verdict: ['DROPPED'] },
      { destinationNamespace: ['shop'], destinationPort: ['8080'], verdict: ['DROPPED'] },
    ]);
    const denied = parseObserveArgs(['--not', '--ip', '10.0.0.1', '--not', '--port', '53'], NOW);
    expect(denied.filter).toEqual({
      allow: [],
      deny: [
        { sourceIp: ['10.0.0.1'], sourcePort: ['53'] },
        { destinationIp: ['10.0.0.1'], destinationPort: ['53'] },
      ],
    });
    // Combined with a one-sided flag of the same kind, the values OR on that side.
    expect(parseObserveArgs(['--from-pod', 'a', '--pod', 'b'], NOW).filter.allow).toEqual([
      { sourcePod: ['a', 'b'] },
      { sourcePod: ['a'], destinationPod: ['b'] },
    ]);
  });

  it('reads --is-reply as a boolean flag', () => {
    expect(parseObserveArgs(['--is-reply'], NOW).filter.allow).toEqual([{ reply: true }]);
    expect(parseObserveArgs(['--is-reply=true'], NOW).filter.allow).toEqual([{ reply: true }]);
    expect(parseObserveArgs(['--is-reply=false'], NOW).filter.allow).toEqual([{ reply: false }]);
    expect(() => parseObserveArgs(['--is-reply=maybe'], NOW)).toThrow(/--is-reply: expected true or false/);
  });

  it('moves the filter after --not to the deny list', () => {
    const q = parseObserveArgs(['--from-namespace', 'shop', '--not', '--http-path', '^/healthz', '--type', 'l7'], NOW);
    expect(q.filter).toEqual({ allow: [{ sourceNamespace: ['shop'], eventType: ['L7'] }], deny: [{ httpPath: ['^/healthz'] }] });
  });

  it('reads time, output and follow options', () => {
    const q = parseObserveArgs(['--since', '1h30m', '--until=2026-11-24T11:59:00Z', '--last', '20', '-o', 'jsonpb', '-f'], NOW);
    expect(q).toMatchObject({ since: NOW - 5_400_000, until: Date.UTC(2026, 10, 24, 11, 59), last: 20, output: 'jsonpb', follow: true });
  });

  it('rejects unknown flags and bad values, naming them', () => {
    expect(() => parseObserveArgs(['--to-sevice', 'x'], NOW)).toThrow(/unknown flag --to-sevice/);
    expect(parseObserveArgs(['--from-process', 'curl'], NOW).filter.allow).toEqual([{ sourceProcess: ['curl'] }]);
    expect(() => parseObserveArgs(['--http-status', 'abc'], NOW)).toThrow(ObserveArgsError);
    expect(() => parseObserveArgs(['--since', 'yesterday'], NOW)).toThrow(/--since/);
    expect(() => parseObserveArgs(['--output', 'xml'], NOW)).toThrow(/--output/);
    expect(() => parseObserveArgs(['--to-service'], NOW)).toThrow(/needs a value/);
    expect(() => parseObserveArgs(['payments'], NOW)).toThrow(/unexpected argument/);
  });

  it('splits filter-bar text like a shell', () => {
    expect(splitArgs(`--http-path '^/api/(a|b)' --to-service "pay ments" --dns-query x\\ y`)).toEqual([
      '--http-path',
      '^/api/(a|b)',
      '--to-service',
      'pay ments',
      '--dns-query',
      'x y',
    ]);
    expect(parseFilterText('--from-pod shop/checkout-1 --tcp-flags SYN,rst', NOW).filter.allow).toEqual([
      { sourcePod: ['shop/checkout-1'], tcpFlags: ['SYN', 'RST'] },
    ]);
    expect(() => splitArgs('--to-service "open')).toThrow(/unterminated/);
  });
});
