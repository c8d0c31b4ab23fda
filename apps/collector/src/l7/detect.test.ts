import { describe, expect, it } from 'vitest';
import { detectProtocol } from './detect';

const b = (s: string) => Buffer.from(s, 'latin1');
function kafkaApiVersions(): Buffer {
  const f = Buffer.alloc(4 + 8 + 2 + 3);
  f.writeInt32BE(f.length - 4, 0);
  f.writeInt16BE(18, 4);
  f.writeInt16BE(3, 6);
  f.writeInt32BE(1, 8);
  f.writeInt16BE(3, 12);
  f.write('cli', 14);
  return f;
}
const dnsQuery = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63, 0, 0, 1, 0, 1]);

describe('protocol detection', () => {
  it.each([
    ['an HTTP request', b('GET / HTTP/1.1\r\n'), 'tcp', { protocol: 'http', requestDirection: true }],
    ['a DELETE request', b('DELETE /x HTTP/1.0\r\n'), 'tcp', { protocol: 'http', requestDirection: true }],
    ['an HTTP response', b('HTTP/1.1 200 OK\r\n'), 'tcp', { protocol: 'http', requestDirection: false }],
    ['a Kafka request', kafkaApiVersions(), 'tcp', { protocol: 'kafka', requestDirection: true }],
    [
      'a DNS query over TCP',
      Buffer.concat([Buffer.from([0, dnsQuery.length]), dnsQuery]),
      'tcp',
      { protocol: 'dns', requestDirection: true },
    ],
    ['a DNS query over UDP', dnsQuery, 'udp', { protocol: 'dns', requestDirection: true }],
    ['TLS', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0, 0]), 'tcp', null],
    ['SSH', b('SSH-2.0-OpenSSH_9.2\r\n'), 'tcp', null],
    ['HTTP/2 preface', b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'tcp', { protocol: 'http', requestDirection: true, http2: true }],
    ['HTTP/2 preface, first bytes', b('PRI * HTTP/2'), 'tcp', { protocol: 'http', requestDirection: true, http2: true }],
    ['not the HTTP/2 preface', b('PRI * HTTP/3.0\r\n\r\nSM\r\n\r\n'), 'tcp', null],
    ['lower-case junk', b('get / http/1.1\r\n'), 'tcp', null],
    ['an HTTP request over UDP', b('GET / HTTP/1.1\r\n'), 'udp', null],
    ['empty', Buffer.alloc(0), 'tcp', null],
  ] as const)('%s', (_name, data, transport, expected) => {
    expect(detectProtocol(data, transport)).toEqual(expected);
  });

  it('takes a UDP DNS response for DNS only from the DNS port', () => {
    const response = Buffer.from(dnsQuery);
    response[2] = 0x81;
    response[3] = 0x80;
    expect(detectProtocol(response, 'udp', 53)).toEqual({ protocol: 'dns', requestDirection: false });
    expect(detectProtocol(response, 'udp', 4000)).toBeNull();
  });
});
