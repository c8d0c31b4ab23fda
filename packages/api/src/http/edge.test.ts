/**
 * The HTTP edge against the real standalone server (same gate as the Next route): body limits counted as
 * bytes arrive, credentials before large bodies, nesting depth, login throttling, tokens that cannot mint
 * tokens, Secure cookies, per-user concurrency and the query pool's statement timeout.
 */
import { connect, createApiToken, createUser, login } from '@sextant/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/api-harness';
import { loginThrottle } from '../routers/auth';
import { BODY_LIMITS, jsonTooDeep } from './body-limits';
import { edgeConfig, setEdgeConfig } from './config';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

/** A body of `total` bytes produced on demand; `pulled()` says how much the server made us produce. */
function lazyBody(total: number, chunk: Uint8Array) {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= total) return c.close();
      sent += chunk.byteLength;
      c.enqueue(chunk);
    },
  });
  return { stream, pulled: () => sent };
}

async function post(path: string, body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.server.url}/api/trpc/${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('body limits', () => {
  it('stops reading a chunked body to auth.login at 64 KiB (413), long before its 50 MB', async () => {
    const body = lazyBody(50 * 1024 * 1024, new Uint8Array(64 * 1024).fill(0x20));
    const t0 = performance.now();
    const res = await post('auth.login', body.stream);
    expect(res.status).toBe(413);
    expect(res.text).toContain(`over ${BODY_LIMITS.defaultBytes} bytes`);
    expect(performance.now() - t0).toBeLessThan(5_000);
    // What sits in socket buffers besides the 64 KiB read: far from the whole body.
    expect(body.pulled()).toBeLessThan(16 * 1024 * 1024);
  });

  it('answers 401 to ingest without a valid collector token before reading the body', async () => {
    for (const auth of [{}, { authorization: 'Bearer sxc_wrong' }, { authorization: `Bearer ${h.userToken}` }] as Record<
      string,
      string
    >[]) {
      const body = lazyBody(50 * 1024 * 1024, new Uint8Array(256 * 1024).fill(0x5b));
      const res = await post('ingest.push', body.stream, auth);
      expect(res.status).toBe(401);
      expect(body.pulled()).toBeLessThan(BODY_LIMITS.ingestBytes);
    }
  });

  it('answers 401/403 to hubble.import without credentials or admin role before reading, and 413 past 16 MiB for an admin', async () => {
    await createUser(h.db.prisma, 'viewer-edge@example.com', 'viewer password!', 'viewer');
    const viewer = await login(h.db.prisma, 'viewer-edge@example.com', 'viewer password!');
    const anonymous = lazyBody(40 * 1024 * 1024, new Uint8Array(256 * 1024).fill(0x20));
    expect((await post('hubble.import', anonymous.stream)).status).toBe(401);
    expect(anonymous.pulled()).toBeLessThan(BODY_LIMITS.hubbleImportBytes);
    const small = lazyBody(40 * 1024 * 1024, new Uint8Array(256 * 1024).fill(0x20));
    const res = await post('hubble.import', small.stream, { authorization: `Bearer ${viewer?.token}` });
    expect([res.status, res.text]).toEqual([403, expect.stringContaining('admin role required')]);
    expect(small.pulled()).toBeLessThan(BODY_LIMITS.hubbleImportBytes);
    const big = lazyBody(40 * 1024 * 1024, new Uint8Array(256 * 1024).fill(0x20));
    expect((await post('hubble.import', big.stream, { authorization: `Bearer ${h.userToken}` })).status).toBe(413);
  });

  it('takes a collector batch over 64 KiB (chunked) and refuses one over 16 MiB', async () => {
    const ok = await post(
      'ingest.push',
      JSON.stringify({ schemaVersion: 1, batchId: crypto.randomUUID(), sentAt: Date.now(), pad: 'x'.repeat(100_000), flows: [] }),
      {
        authorization: `Bearer ${h.collectorToken}`,
      },
    );
    // Not a 413: the body is past the small limit but within ingest's (the schema decides the rest).
    expect(ok.status).not.toBe(413);
    expect(ok.status).toBeLessThan(500);
    const body = lazyBody(17 * 1024 * 1024, new Uint8Array(256 * 1024).fill(0x20));
    expect((await post('ingest.push', body.stream, { authorization: `Bearer ${h.collectorToken}` })).status).toBe(413);
  });

  it('refuses JSON nested deeper than the bound before parsing it, in bodies and in GET input', async () => {
    const nested = '['.repeat(30_000) + ']'.repeat(30_000);
    const res = await post('auth.login', nested);
    expect(res.status).toBe(400);
    expect(res.text).toContain('nested deeper');
    const q = await fetch(`${h.server.url}/api/trpc/flows.search?input=${encodeURIComponent('['.repeat(2000))}`, {
      headers: { authorization: `Bearer ${h.userToken}` },
    });
    expect(q.status).toBe(400);
    expect(jsonTooDeep(new TextEncoder().encode('{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[[[["}'), 3)).toBe(false);
    expect(jsonTooDeep(new TextEncoder().encode('[[[[]]]]'), 3)).toBe(true);
  });
});

describe('sign-in throttling', () => {
  it('answers 429 with Retry-After after too many failures for one account, and unknown emails do the same work', async () => {
    const before = edgeConfig();
    setEdgeConfig({ SEXTANT_LOGIN_MAX_FAILURES_ACCOUNT: 5, SEXTANT_LOGIN_MAX_FAILURES_ADDRESS: 1000 });
    loginThrottle.reset();
    try {
      await createUser(h.db.prisma, 'victim@example.com', 'the right password', 'viewer');
      const attempt = (email: string, password = 'wrong password') => post('auth.login', JSON.stringify({ email, password }));
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 5; i++) {
        let t = performance.now();
        expect((await attempt('victim@example.com')).status).toBe(401);
        known.push(performance.now() - t);
        t = performance.now();
        expect((await attempt(`nobody-${i}@example.com`)).status).toBe(401);
        unknown.push(performance.now() - t);
      }
      const throttled = await attempt('victim@example.com', 'the right password');
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      console.log(`sign-in median: known email ${median(known).toFixed(1)} ms, unknown email ${median(unknown).toFixed(1)} ms`);
      // Both pay scrypt (~45 ms here, 8 ms without it): generous so a loaded machine cannot break it.
      expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
    } finally {
      setEdgeConfig(before);
    }
  });

  it('throttles one client address across accounts, and ignores a forged peer header', async () => {
    const before = edgeConfig();
    setEdgeConfig({ SEXTANT_LOGIN_MAX_FAILURES_ACCOUNT: 1000, SEXTANT_LOGIN_MAX_FAILURES_ADDRESS: 4, SEXTANT_LOGIN_WINDOW_SECONDS: 3600 });
    loginThrottle.reset();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await post('auth.login', JSON.stringify({ email: `spray-${i}@example.com`, password: 'x' }), {
          'x-sextant-peer': `forged http 10.0.0.${i}`,
          'x-forwarded-for': `10.1.0.${i}`,
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    } finally {
      setEdgeConfig(before);
      loginThrottle.reset();
    }
  });
});

describe('tokens and cookies', () => {
  it('lets a session mint API tokens but not a token, and a revoked token stops working', async () => {
    const created = await h.client(h.userToken).tokens.create.mutate({ name: 'cli' });
    await expect(h.client(created.secret).tokens.create.mutate({ name: 'child' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await h.client(h.userToken).tokens.revoke.mutate({ id: created.token.id });
    await expect(h.client(created.secret).collectors.list.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const user = await h.db.prisma.user.findUniqueOrThrow({ where: { email: 'admin@example.com' } });
    const { token } = await createApiToken(h.db.prisma, user.id, 'kept');
    expect(await h.client(token).collectors.list.query()).toBeInstanceOf(Array);
  });

  it('marks the session cookie Secure only over HTTPS, and trusts X-Forwarded-Proto only when told to', async () => {
    await createUser(h.db.prisma, 'cookie@example.com', 'cookie password', 'viewer');
    const signIn = (headers: Record<string, string>) =>
      post('auth.login', JSON.stringify({ email: 'cookie@example.com', password: 'cookie password' }), headers);
    const plain = await signIn({ 'x-forwarded-proto': 'https' });
    expect(plain.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/);
    const before = edgeConfig();
    setEdgeConfig({ SEXTANT_TRUST_PROXY: true });
    try {
      expect((await signIn({ 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toMatch(/; Secure/);
    } finally {
      setEdgeConfig(before);
    }
  });
});

describe('query pile-ups', () => {
  it('refuses calls beyond the per-user limit with TOO_MANY_REQUESTS instead of queueing them all', async () => {
    const before = edgeConfig();
    setEdgeConfig({ SEXTANT_USER_MAX_INFLIGHT: 1, SEXTANT_USER_MAX_QUEUED: 1 });
    try {
      const input = encodeURIComponent(JSON.stringify({ window: { since: Date.now() - 86_400_000, until: Date.now() } }));
      const results = await Promise.all(
        Array.from({ length: 30 }, () =>
          fetch(`${h.server.url}/api/trpc/flows.search?input=${input}`, { headers: { authorization: `Bearer ${h.userToken}` } }).then(
            async (r) => ({ status: r.status, text: await r.text() }),
          ),
        ),
      );
      const refused = results.filter((r) => r.status === 429);
      expect(results.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]?.text).toContain('too many queries in flight');
      expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(2);
    } finally {
      setEdgeConfig(before);
    }
  });

  it('cancels a user query past the statement timeout of the query pool (ingest pool unaffected)', async () => {
    const db = connect(h.db.url, { queryTimeoutMs: 200 });
    try {
      await expect(db.queryPool.query('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
      await expect(db.pool.query('SELECT pg_sleep(0.3)')).resolves.toBeDefined();
    } finally {
      await db.close();
    }
  });
});
