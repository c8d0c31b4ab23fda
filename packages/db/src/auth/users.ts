/** UI users and their sessions (httpOnly cookie or Bearer token holding a random session token). */
import { randomBytes } from 'node:crypto';
import type { PrismaClient, Role } from '../generated/prisma/client';
import { hashPassword, hashToken, newToken, verifyPassword } from './secrets';

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
}

export const SESSION_TTL_MS = 7 * 86_400_000;

export async function createUser(prisma: PrismaClient, email: string, password: string, role: Role): Promise<SessionUser> {
  const u = await prisma.user.create({ data: { email: email.toLowerCase(), passwordHash: await hashPassword(password), role } });
  return { id: u.id, email: u.email, role: u.role };
}

/**
 * A password hash no password matches in practice (a random one's), made once: an unknown email gets the
 * same scrypt work as a known one, so response times do not tell which emails have accounts (8 vs 45 ms).
 */
let decoy: Promise<string> | undefined;
function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(32).toString('base64url'));
  return decoy;
}

/** Checks credentials and opens a session; null on a wrong email or password (same answer and work for both). */
export async function login(
  prisma: PrismaClient,
  email: string,
  password: string,
): Promise<{ user: SessionUser; token: string; expiresAt: Date } | null> {
  const u = await prisma.user.findUnique({ where: { email: email.toLowerCase() } });
  const ok = await verifyPassword(password, u?.passwordHash ?? (await decoyHash()));
  if (!u || !ok) return null;
  const token = newToken('session');
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await prisma.session.create({ data: { tokenHash: hashToken(token), userId: u.id, expiresAt } });
  return { user: { id: u.id, email: u.email, role: u.role }, token, expiresAt };
}

export async function sessionUser(prisma: PrismaClient, token: string): Promise<SessionUser | null> {
  if (!token.startsWith('sxs_')) return null;
  const s = await prisma.session.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!s || s.expiresAt < new Date()) return null;
  return { id: s.user.id, email: s.user.email, role: s.user.role };
}

export async function logout(prisma: PrismaClient, token: string): Promise<void> {
  await prisma.session.deleteMany({ where: { tokenHash: hashToken(token) } });
}

export async function countUsers(prisma: PrismaClient): Promise<number> {
  return prisma.user.count();
}
