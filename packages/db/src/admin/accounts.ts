/**
 * User administration (admins only, through the API's adminProcedure): invite a user with a one-time
 * password shown once, change a role, disable and re-enable an account; every user's API tokens listed and
 * revocable. There is no "disabled" column: a disabled account's password hash is the scrypt hash of a
 * random secret nobody knows, tagged `$disabled` (verifyPassword reads the first three `$` fields, so a
 * sign-in attempt does the same scrypt work as any other and fails), its sessions are deleted and its API
 * tokens revoked, so nothing it held still works. Enabling sets a new one-time password.
 */
import { randomBytes } from 'node:crypto';
import type { PrismaClient, Role } from '../generated/prisma/client';
import { hashPassword } from '../auth/secrets';

const DISABLED = '$disabled';

export interface UserSummary {
  id: string;
  email: string;
  role: Role;
  createdAt: Date;
  disabled: boolean;
  /** Sessions not yet expired. */
  sessions: number;
  /** API tokens not revoked. */
  activeTokens: number;
}

export interface AdminTokenSummary {
  id: string;
  name: string;
  tokenPrefix: string;
  owner: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Why an account change was refused (the API answers 409/404 with the message). */
export class AccountChangeError extends Error {
  constructor(
    message: string,
    readonly reason: 'not-found' | 'conflict',
  ) {
    super(message);
  }
}

/** 18 random bytes as base64url: 24 characters, 144 bits. */
export function oneTimePassword(): string {
  return randomBytes(18).toString('base64url');
}

export const isDisabledHash = (hash: string) => hash.endsWith(DISABLED);

export async function listUsers(prisma: PrismaClient): Promise<UserSummary[]> {
  const now = new Date();
  const rows = await prisma.user.findMany({
    orderBy: { createdAt: 'asc' },
    include: { _count: { select: { sessions: { where: { expiresAt: { gt: now } } }, apiTokens: { where: { revokedAt: null } } } } },
  });
  return rows.map((u) => ({
    id: u.id,
    email: u.email,
    role: u.role,
    createdAt: u.createdAt,
    disabled: isDisabledHash(u.passwordHash),
    sessions: u._count.sessions,
    activeTokens: u._count.apiTokens,
  }));
}

/** A new account with a one-time password (returned once; only its hash is stored); null when the email is taken. */
export async function inviteUser(prisma: PrismaClient, email: string, role: Role): Promise<{ user: UserSummary; password: string } | null> {
  const password = oneTimePassword();
  const lower = email.toLowerCase();
  if (await prisma.user.findUnique({ where: { email: lower } })) return null;
  const u = await prisma.user.create({ data: { email: lower, passwordHash: await hashPassword(password), role } });
  return {
    user: { id: u.id, email: u.email, role: u.role, createdAt: u.createdAt, disabled: false, sessions: 0, activeTokens: 0 },
    password,
  };
}

/** Whether `userId` is the only enabled admin (changing it would leave nobody to administer). */
async function lastAdmin(prisma: PrismaClient, userId: string): Promise<boolean> {
  const admins = await prisma.user.findMany({ where: { role: 'admin' }, select: { id: true, passwordHash: true } });
  const enabled = admins.filter((a) => !isDisabledHash(a.passwordHash));
  return enabled.length === 1 && enabled[0]?.id === userId;
}

async function existing(prisma: PrismaClient, userId: string) {
  const u = await prisma.user.findUnique({ where: { id: userId } });
  if (!u) throw new AccountChangeError('no such user', 'not-found');
  return u;
}

export async function setUserRole(prisma: PrismaClient, userId: string, role: Role): Promise<void> {
  const u = await existing(prisma, userId);
  if (u.role === role) return;
  if (role !== 'admin' && (await lastAdmin(prisma, userId)))
    throw new AccountChangeError('the last enabled admin cannot lose the admin role', 'conflict');
  await prisma.user.update({ where: { id: userId }, data: { role } });
}

/** Disables an account: no password signs in, its sessions end and its API tokens are revoked. */
export async function disableUser(prisma: PrismaClient, userId: string): Promise<void> {
  const u = await existing(prisma, userId);
  if (isDisabledHash(u.passwordHash)) return;
  if (u.role === 'admin' && (await lastAdmin(prisma, userId)))
    throw new AccountChangeError('the last enabled admin cannot be disabled', 'conflict');
  const hash = (await hashPassword(randomBytes(32).toString('base64url'))) + DISABLED;
  await prisma.$transaction([
    prisma.user.update({ where: { id: userId }, data: { passwordHash: hash } }),
    prisma.session.deleteMany({ where: { userId } }),
    prisma.apiToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } }),
  ]);
}

/** Re-enables an account with a new one-time password (returned once). */
export async function enableUser(prisma: PrismaClient, userId: string): Promise<{ password: string }> {
  await existing(prisma, userId);
  const password = oneTimePassword();
  await prisma.user.update({ where: { id: userId }, data: { passwordHash: await hashPassword(password) } });
  return { password };
}

export async function listAllApiTokens(prisma: PrismaClient): Promise<AdminTokenSummary[]> {
  const rows = await prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' }, include: { user: { select: { email: true } } } });
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    tokenPrefix: r.tokenPrefix,
    owner: r.user.email,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
  }));
}

/** Revokes any user's API token; false when no such token exists (revoking a revoked one is not an error). */
export async function revokeAnyApiToken(prisma: PrismaClient, id: string): Promise<boolean> {
  await prisma.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  return (await prisma.apiToken.count({ where: { id } })) > 0;
}
