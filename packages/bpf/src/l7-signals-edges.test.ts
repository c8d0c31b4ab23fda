/**
 * The L7 signals mode's edges on the real kernel (docs/l7-line-rate.md): what puts a socket on the full path
 * (a body in a second write, an unknown method, requests pipelined in one write; its exchanges are then records,
 * kept 0, never aggregated), later response chunks of a kept exchange, an unanswered request's stash, the server
 * role, drains during load, an HTTP/2 preface, hooks mode. Aggregates + records = the requests sent, exactly.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_DIR_CLIENT, SX_KEPT_ERROR, SX_KEPT_NONE, SX_L7_EGRESS, SX_L7_INGRESS, SX_PROTO_HTTP2 } from './generated/events';
import type { L7AggregateRecord } from './probes';
import { kernelMissing } from './testing/kernel';
import {
  aggregates,
  BIG_BODY,
  clientRecords,
  counts,
  drainAll,
  forPort,
  mix,
  onCleanup,
  probes,
  records,
  request,
  requestLine,
  settle,
  sleep,
  start,
  stop,
} from './testing/l7-signals-rig';

const noKernel = kernelMissing();

afterEach(stop);

describe.skipIf(noKernel)('L7 signals mode: the full path and the edges', () => {
  it('puts a socket on the full path for a request body in a second write and for an unknown method: its exchanges are records (kept 0), never aggregated', async () => {
    const { port, agent } = await start('signals', 0);
    const N = 10;
    await mix(port, agent, N, 0, 0);
    // one connection: headers flushed, then the body while the response is awaited → FULL from then on
    const split = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => split.destroy());
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/ok/split', agent: split, headers: { 'content-length': 10 } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => req.end('0123456789'), 50);
    });
    expect(status).toBe(200);
    expect(await request(port, split, 'GET', '/ok/after-split')).toBe(200);
    // another connection: aggregated, until a method the kernel does not know
    const odd = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => odd.destroy());
    expect(await request(port, odd, 'GET', '/ok/first')).toBe(200);
    expect(await request(port, odd, 'PURGE', '/ok/purge')).toBe(200);
    expect(await request(port, odd, 'GET', '/ok/after-purge')).toBe(200);
    await settle(() => clientRecords(port).length >= 9);

    // aggregates + full-path exchanges = every exchange sent, each once
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': N + 1 });
    const recs = clientRecords(port);
    expect(recs.every((r) => r.kept === SX_KEPT_NONE)).toBe(true);
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS).map(requestLine)).toEqual([
      'POST /ok/split HTTP/1.1',
      '0123456789',
      'GET /ok/after-split HTTP/1.1',
      'PURGE /ok/purge HTTP/1.1',
      'GET /ok/after-purge HTTP/1.1',
    ]);
    expect(recs.filter((r) => r.direction === SX_L7_INGRESS).map(requestLine)).toEqual(Array(4).fill('HTTP/1.1 200 OK'));
    expect(probes().readCounters().l7FullSwitches).toBeGreaterThanOrEqual(2); // host-wide
  });

  it('puts a socket on the full path for requests pipelined inside one write (a second request line after the header block), not for a body', async () => {
    const { port } = await start('signals', 0);
    const sockets: net.Socket[] = [];
    onCleanup(() => sockets.forEach((s) => s.destroy()));
    /** Writes payload on a raw connection and waits for `responses` complete 'ok' answers. */
    const raw = async (payload: string, responses: number, sock?: net.Socket): Promise<net.Socket> => {
      const s = sock ?? net.connect(port, '127.0.0.1');
      if (!sock) sockets.push(s);
      let got = '';
      const done = new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer) => {
          got += d.toString('latin1');
          if (got.split('HTTP/1.1 200 OK').length - 1 === responses && got.endsWith('ok')) {
            s.off('data', onData);
            resolve();
          }
        };
        s.on('data', onData);
        s.once('error', reject);
      });
      s.write(payload);
      await done;
      return s;
    };
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    /** A GET of exactly `size` bytes (a padding header): the kernel scans up to 128 bytes in straight-line code, longer ones in a loop. */
    const sized = (path: string, size: number) => {
      const head = `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Pad: `;
      return `${head}${'p'.repeat(size - head.length - 4)}\r\n\r\n`;
    };
    const post = (path: string, body: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    // one connection: a GET alone (aggregated), then two GETs in one write
    const a = await raw(get('/ok/a1'), 1);
    await raw(get('/ok/a2') + get('/ok/a3'), 2, a);
    // another: a POST with its body in the same write (aggregated), then a POST + a GET in one write
    const b = await raw(post('/ok/b1', 'body'), 1);
    await raw(post('/ok/b2', 'body') + get('/ok/b3'), 2, b);
    // at the straight-line scan's bound: a GET of 128 bytes alone (aggregated), then two of 64 in one write
    const c = await raw(sized('/ok/c1', 128), 1);
    await raw(sized('/ok/c2', 64) + sized('/ok/c3', 64), 2, c);
    // past it: a GET of 300 bytes alone (aggregated), then a GET of 200 and a short one in one write
    const d = await raw(sized('/ok/d1', 300), 1);
    await raw(sized('/ok/d2', 200) + get('/ok/d3'), 2, d);
    await settle(() => clientRecords(port).filter((r) => r.direction === SX_L7_INGRESS).length >= 4);

    // aggregates + full-path exchanges = every exchange sent, each once
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 3, 'POST 200': 1 });
    const recs = clientRecords(port);
    expect(recs.every((r) => r.kept === SX_KEPT_NONE)).toBe(true);
    expect(
      recs
        .filter((r) => r.direction === SX_L7_EGRESS)
        .map((r) => r.text)
        .sort(),
    ).toEqual(
      [
        get('/ok/a2') + get('/ok/a3'),
        post('/ok/b2', 'body') + get('/ok/b3'),
        sized('/ok/c2', 64) + sized('/ok/c3', 64),
        sized('/ok/d2', 200) + get('/ok/d3'),
      ].sort(),
    );
    const answers = recs
      .filter((r) => r.direction === SX_L7_INGRESS)
      .map((r) => r.text)
      .join('');
    expect(answers.split('HTTP/1.1 200 OK').length - 1).toBe(8);
  });

  it('emits the later response chunks of a kept exchange with its reason, and none of an exchange not kept', async () => {
    const { port, agent } = await start('signals', 0);
    expect(await request(port, agent, 'GET', '/big/200')).toBe(200);
    expect(await request(port, agent, 'GET', '/big/500')).toBe(500);
    const responseBytes = () =>
      clientRecords(port)
        .filter((r) => r.direction === SX_L7_INGRESS)
        .reduce((s, r) => s + r.totalLen, 0);
    await settle(() => responseBytes() > BIG_BODY.length);
    expect(counts(await aggregates(port))).toEqual({ 'GET 200': 1, 'GET 500': 1 });
    const recs = clientRecords(port);
    expect(recs.every((r) => r.kept === SX_KEPT_ERROR)).toBe(true);
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS).map(requestLine)).toEqual(['GET /big/500 HTTP/1.1']);
    const responses = recs.filter((r) => r.direction === SX_L7_INGRESS);
    expect(responses.length).toBeGreaterThan(1); // 300 kB arrive in several reads
    expect(requestLine(responses[0]!)).toBe('HTTP/1.1 500 Internal Server Error');
    // every byte of the 500's response, headers and body, and nothing of the 200's
    const headerLen = responses[0]!.text.indexOf('\r\n\r\n') + 4;
    expect(responseBytes()).toBe(headerLen + BIG_BODY.length);
  });

  it('emits the stashed request of a connection closed unanswered, kept 0', async () => {
    const { port, agent } = await start('signals', 0);
    await expect(request(port, agent, 'GET', '/hang/1')).rejects.toThrow();
    await settle(() => clientRecords(port).length >= 1);
    const recs = clientRecords(port);
    expect(recs.map((r) => [requestLine(r), r.direction, r.kept])).toEqual([['GET /hang/1 HTTP/1.1', SX_L7_EGRESS, SX_KEPT_NONE]]);
    expect(await aggregates(port)).toEqual([]);
  });

  it('aggregates the server role too when loopback servers are captured', async () => {
    const { port, agent } = await start('signals', 0, { captureLoopbackServers: true });
    const N = 10;
    const M = 3;
    await mix(port, agent, N, M, 0);
    const serverRecords = () => records().filter((r) => r.role !== SX_DIR_CLIENT && r.sport === port);
    await settle(() => serverRecords().length >= 2 * M && clientRecords(port).length >= 2 * M);
    const all = await drainAll();
    const server = forPort(all, port, 'server');
    expect(counts(server)).toEqual({ 'GET 200': N, 'POST 503': M });
    expect(counts(forPort(all, port, 'client'))).toEqual({ 'GET 200': N, 'POST 503': M });
    for (const a of server) expect(a).toMatchObject({ pid: process.pid, laddr: '127.0.0.1', raddr: '127.0.0.1', lport: port, rport: 0 });
    const recs = serverRecords();
    expect(recs.every((r) => r.kept === SX_KEPT_ERROR)).toBe(true);
    expect(
      recs
        .filter((r) => r.direction === SX_L7_INGRESS)
        .map(requestLine)
        .sort(),
    ).toEqual(Array.from({ length: M }, (_, i) => `POST /fail/${i} HTTP/1.1`).sort());
    expect(recs.filter((r) => r.direction === SX_L7_EGRESS && r.text.startsWith('HTTP/1.1 503'))).toHaveLength(M);
  });

  it('loses nothing when drained during load: the drained totals equal the requests sent', async () => {
    const { port, agent } = await start('signals', 0);
    const WORKERS = 4;
    const EACH = 100;
    let done = false;
    let drains = 0;
    const drained: L7AggregateRecord[] = [];
    const drainer = (async () => {
      while (!done) {
        drained.push(...(await probes().drainL7Aggregates()));
        drains++;
        await sleep(5);
      }
    })();
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        for (let i = 0; i < EACH; i++) expect(await request(port, agent, 'GET', `/ok/${w}-${i}`)).toBe(200);
      }),
    );
    done = true;
    await drainer;
    drained.push(...(await drainAll()));
    expect(drains).toBeGreaterThan(3);
    expect(counts(forPort(drained, port))).toEqual({ 'GET 200': WORKERS * EACH });
  });

  it('classifies an HTTP/2 client preface as protocol 4, on the full path', async () => {
    await start('signals', 0);
    const srv = net.createServer((s) => s.once('data', () => s.end(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]))));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    onCleanup(() => srv.close());
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      c.on('data', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    await settle(() => clientRecords(port).length >= 2);
    const recs = clientRecords(port);
    expect(recs.map((r) => [r.direction, r.protocol, r.kept])).toEqual([
      [SX_L7_EGRESS, SX_PROTO_HTTP2, SX_KEPT_NONE],
      [SX_L7_INGRESS, SX_PROTO_HTTP2, SX_KEPT_NONE],
    ]);
    expect(recs[0]!.text).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(await aggregates(port)).toEqual([]);
  });

  it('in hooks mode emits and aggregates nothing', async () => {
    const { port, agent } = await start('hooks', 1_000_000);
    await mix(port, agent, 5, 2, 0);
    await sleep(1_000);
    expect(clientRecords(port)).toEqual([]);
    expect(await aggregates(port)).toEqual([]);
    const c = probes().readCounters();
    expect([c.l7Events, c.l7Aggregated]).toEqual([0, 0]);
  });
});
