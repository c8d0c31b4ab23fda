/**
 * Administration through the real HTTP API on real PostgreSQL: invite (one-time password signs in), role
 * change, disable (sign-in, sessions and API tokens all stop working) and enable, every user's API tokens
 * listed and revocable; admins only, and the last admin cannot lock everyone out.
 */
import { disableUser, login, setUserRole } from '@sextant/db';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './testing/api-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const status = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCClientError);
  return (err as { data?: { httpStatus?: number } }).data?.httpStatus;
};

describe('admin.users and admin.tokens', () => {
  it('invites a user with a one-time password that signs in, and refuses a taken email', async () => {
    const admin = h.client(h.userToken).admin;
    const r = await admin.users.invite.mutate({ email: 'Dana@Example.com', role: 'viewer' });
    expect(r.user).toMatchObject({ email: 'dana@example.com', role: 'viewer', disabled: false });
    expect(r.password).toMatch(/^[\w-]{24}$/);
    expect(await login(h.db.prisma, 'dana@example.com', r.password)).not.toBeNull();
    expect(await status(admin.users.invite.mutate({ email: 'dana@example.com' }))).toBe(409);
    const list = await admin.users.list.query();
    expect(list.map((u) => u.email)).toEqual(['admin@example.com', 'dana@example.com']);
    expect(list.find((u) => u.email === 'dana@example.com')).toMatchObject({ sessions: 1, activeTokens: 0 });
  });

  it('is for admins only', async () => {
    const r = await h.client(h.userToken).admin.users.invite.mutate({ email: 'vic@example.com' });
    const s = await login(h.db.prisma, 'vic@example.com', r.password);
    const viewer = h.client(s?.token).admin;
    expect(await status(viewer.users.list.query())).toBe(403);
    expect(await status(viewer.users.invite.mutate({ email: 'x@example.com' }))).toBe(403);
    expect(await status(viewer.tokens.list.query())).toBe(403);
    expect(await status(h.client(null).admin.users.list.query())).toBe(401);
  });

  it('disables an account: no sign-in, sessions ended, API tokens revoked; enable gives a new password', async () => {
    const admin = h.client(h.userToken).admin;
    const { user, password } = await admin.users.invite.mutate({ email: 'eve@example.com', role: 'admin' });
    const s = await login(h.db.prisma, 'eve@example.com', password);
    const eve = h.client(s?.token);
    const tok = await eve.tokens.create.mutate({ name: 'laptop' });
    expect(await h.client(tok.secret).auth.me.query()).toMatchObject({ email: 'eve@example.com' });
    const listed = await admin.tokens.list.query();
    expect(listed.find((t) => t.id === tok.token.id)).toMatchObject({ name: 'laptop', owner: 'eve@example.com', revokedAt: null });

    await admin.users.disable.mutate({ id: user.id });
    expect(await login(h.db.prisma, 'eve@example.com', password)).toBeNull();
    expect(await status(eve.auth.me.query())).toBe(401);
    expect(await status(h.client(tok.secret).auth.me.query())).toBe(401);
    expect((await admin.users.list.query()).find((u) => u.id === user.id)).toMatchObject({ disabled: true, sessions: 0, activeTokens: 0 });

    const { password: again } = await admin.users.enable.mutate({ id: user.id });
    expect(again).not.toBe(password);
    expect(await login(h.db.prisma, 'eve@example.com', password)).toBeNull();
    expect(await login(h.db.prisma, 'eve@example.com', again)).not.toBeNull();
    expect((await admin.users.list.query()).find((u) => u.id === user.id)?.disabled).toBe(false);
    // Its old token stays revoked.
    expect(await status(h.client(tok.secret).auth.me.query())).toBe(401);
  });

  it('changes roles, but never locks out the last admin or the caller', async () => {
    const admin = h.client(h.userToken).admin;
    const me = await h.client(h.userToken).auth.me.query();
    const { user, password } = await admin.users.invite.mutate({ email: 'fay@example.com' });
    await admin.users.setRole.mutate({ id: user.id, role: 'admin' });
    const fay = h.client((await login(h.db.prisma, 'fay@example.com', password))?.token).admin;
    expect((await fay.users.list.query()).length).toBeGreaterThan(1);
    await admin.users.setRole.mutate({ id: user.id, role: 'viewer' });
    expect(await status(fay.users.list.query())).toBe(403);
    expect(await status(admin.users.disable.mutate({ id: me.id }))).toBe(409);
    expect(await status(admin.users.setRole.mutate({ id: me.id, role: 'viewer' }))).toBe(409);
    expect(await status(admin.users.disable.mutate({ id: crypto.randomUUID() }))).toBe(404);
    // Defence in depth below the API: with eve disabled, the caller is the only enabled admin, and the db
    // refuses to demote or disable them whoever asks.
    const eveId = (await admin.users.list.query()).find((u) => u.email === 'eve@example.com')?.id as string;
    await admin.users.disable.mutate({ id: eveId });
    await expect(setUserRole(h.db.prisma, me.id, 'viewer')).rejects.toThrow('the last enabled admin cannot lose the admin role');
    await expect(disableUser(h.db.prisma, me.id)).rejects.toThrow('the last enabled admin cannot be disabled');
    expect(await h.client(h.userToken).auth.me.query()).toMatchObject({ role: 'admin' });
  });

  it("revokes any user's API token", async () => {
    const admin = h.client(h.userToken).admin;
    const { password } = await admin.users.invite.mutate({ email: 'gil@example.com' });
    const gil = h.client((await login(h.db.prisma, 'gil@example.com', password))?.token);
    const tok = await gil.tokens.create.mutate({ name: 'ci' });
    await admin.tokens.revoke.mutate({ id: tok.token.id });
    expect(await status(h.client(tok.secret).auth.me.query())).toBe(401);
    expect((await admin.tokens.list.query()).find((t) => t.id === tok.token.id)?.revokedAt).toBeGreaterThan(0);
    await admin.tokens.revoke.mutate({ id: tok.token.id }); // again: not an error
    expect(await status(admin.tokens.revoke.mutate({ id: crypto.randomUUID() }))).toBe(404);
  });
});
