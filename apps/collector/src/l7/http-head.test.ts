import { describe, expect, it } from 'vitest';
import { parseHead } from './http';

describe('parseHead', () => {
  it('reads a request line and lower-cases header names, keeping values as sent', () => {
    const h = parseHead('GET /a?b=1 HTTP/1.1\r\nHost: Example.COM:80\r\nX-Trace-ID:  AbC \r\ncontent-length: 12', 'request');
    expect(h).toMatchObject({ method: 'GET', target: '/a?b=1', version: 'HTTP/1.1', contentLength: 12 });
    expect(h?.headers).toEqual([
      ['host', 'Example.COM:80'],
      ['x-trace-id', 'AbC'],
      ['content-length', '12'],
    ]);
  });

  it('reads status lines with and without a reason phrase, and rejects others', () => {
    expect(parseHead('HTTP/1.0 404 Not Found', 'response')).toMatchObject({ version: 'HTTP/1.0', code: 404 });
    expect(parseHead('HTTP/1.1 204', 'response')).toMatchObject({ version: 'HTTP/1.1', code: 204 });
    for (const bad of [
      'HTTP/1.1 2000 OK',
      'HTTP/1.2 200 OK',
      'HTTP/1.1 20x OK',
      'HTTP/1.1  200 OK',
      'HTTP/2 200',
      'http/1.1 200 OK',
      'HTTP/1.1 200\tOK',
    ]) {
      expect(parseHead(bad, 'response'), bad).toBeNull();
    }
    for (const bad of ['GET / HTTP/1.2', 'get / HTTP/1.1', 'GET  HTTP/1.1', 'GET /a b HTTP/1.1', 'GET /']) {
      expect(parseHead(bad, 'request'), bad).toBeNull();
    }
  });

  it('skips lines that are not headers (no colon, empty or bad names, obs-fold) and reads the rest', () => {
    const h = parseHead(
      'HTTP/1.1 200 OK\r\njunk line\r\n: no name\r\nBad Name: x\r\nCafé: x\r\n  folded: y\r\n\r\nTransfer-Encoding: gzip, Chunked',
      'response',
    );
    expect(h?.headers).toEqual([['transfer-encoding', 'gzip, Chunked']]);
    expect(h).toMatchObject({ chunked: true, otherEncoding: false });
  });

  it('rejects unusable framing: bad or conflicting content-length', () => {
    expect(parseHead('HTTP/1.1 200 OK\r\nContent-Length: 1x', 'response')).toBeNull();
    expect(parseHead('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4', 'response')).toBeNull();
    expect(parseHead('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3', 'response')).toMatchObject({ contentLength: 3 });
    expect(parseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip', 'response')).toMatchObject({ chunked: false, otherEncoding: true });
  });
});
