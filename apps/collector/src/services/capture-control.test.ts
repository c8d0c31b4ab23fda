/**
 * The on-demand capture poll against the real API and PostgreSQL: a capture request opened on the server is
 * the deadline the collector applies; closing it turns capture off; a server without the procedure (404) and
 * one that cannot be reached are handled as the module says.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { closeCaptureRequest, createCollectorToken, createUser, openCaptureRequest } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureControl } from './capture-control';
import type { AppRouter } from '@sextant/api';
import type { TRPCClientError } from '@trpc/client';
import { trpcTransport } from './transport';

let db: TestDatabase;
let api: StandaloneServer;
let token: string;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  api = await startStandaloneServer({ db, version: 'test' });
  token = (await createCollectorToken(db.prisma, 'capture-control-test')).token;
  userId = (await createUser(db.prisma, 'tail@example.com', 'correct horse battery staple', 'viewer')).id;
});

afterAll(async () => {
  await api?.close();
  await db?.close();
});

describe('capture control', () => {
  it('applies the deadline of an open capture request, and none once it is closed', async () => {
    const applied: (number | null)[] = [];
    const control = new CaptureControl(trpcTransport(api.url, token), (until) => applied.push(until));
    await control.poll();
    expect([applied, control.deadline()]).toEqual([[], null]);
    const opened = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {} });
    await control.poll();
    expect(applied).toEqual([opened.expiresAt]);
    expect(control.deadline()).toBe(opened.expiresAt);
    await control.poll(); // unchanged: not applied again
    expect(applied).toHaveLength(1);
    await closeCaptureRequest(db.pool, opened.id);
    await control.poll();
    expect(applied).toEqual([opened.expiresAt, null]);
    expect(control.deadline()).toBeNull();
  });

  it('a deadline that has passed is no capture', async () => {
    const opened = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {}, ttlMs: 1_500 });
    const applied: (number | null)[] = [];
    const control = new CaptureControl(trpcTransport(api.url, token), (until) => applied.push(until));
    await control.poll();
    expect(applied).toEqual([opened.expiresAt]);
    await new Promise((r) => setTimeout(r, 1_600));
    expect(control.deadline()).toBeNull();
    await control.poll();
    expect(applied).toEqual([opened.expiresAt, null]);
  });

  it('an older server without the procedure (404) means no capture, quietly; an unreachable one keeps the deadline', async () => {
    const old = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: 'No procedure found on path "collectors.control"', code: -32004, data: { code: 'NOT_FOUND' } },
        }),
      );
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    const logged: string[] = [];
    const applied: (number | null)[] = [];
    const control = new CaptureControl(
      trpcTransport(`http://127.0.0.1:${(old.address() as AddressInfo).port}`, token),
      (u) => applied.push(u),
      (m) => logged.push(m),
    );
    await control.poll();
    expect([applied, logged, control.deadline()]).toEqual([[], [], null]);
    old.close();

    // A deadline learnt from the real server (through a forwarding server that then goes away) stands.
    const api0 = new URL(api.url);
    const proxy = http.createServer((req, res) => {
      const up = http.request({ host: api0.hostname, port: api0.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const opened = await openCaptureRequest(db.pool, { userId, reason: 'live tail', filter: {} });
    const live = new CaptureControl(
      trpcTransport(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token),
      (u) => applied.push(u),
      (m) => logged.push(m),
    );
    await live.poll();
    expect(applied).toEqual([opened.expiresAt]);
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    await live.poll();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^capture control: server not answering \(.+\); the current deadline stands$/);
    expect(live.deadline()).toBe(opened.expiresAt);
    expect(applied).toEqual([opened.expiresAt]);
    await closeCaptureRequest(db.pool, opened.id);
  });

  it("the tRPC calls go over node:http, never the global fetch (its WebAssembly parser's compile costs ~40 MB)", async () => {
    const global = globalThis.fetch;
    globalThis.fetch = () => Promise.reject(new Error('global fetch used'));
    try {
      const reg = await trpcTransport(api.url, token).register({ hostname: 'fetchless', version: 'test', kernel: '6.1' });
      expect(reg.name).toBe('capture-control-test'); // (the token's name)
      expect(await trpcTransport(api.url, token).control()).toEqual({ recordAllUntil: null });
      // A refused call is the server's tRPC error, as through fetch.
      const refused = await trpcTransport(api.url, `sxc_${'x'.repeat(43)}`)
        .control()
        .catch((e: unknown) => e);
      expect([(refused as TRPCClientError<AppRouter>).name, (refused as TRPCClientError<AppRouter>).data?.code]).toEqual([
        'TRPCClientError',
        'UNAUTHORIZED',
      ]);
    } finally {
      globalThis.fetch = global;
    }
  });
});
