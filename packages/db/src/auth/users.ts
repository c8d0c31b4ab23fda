/** UI users and their sessions (httpOnly cookie or Bearer token holding a random session token). */
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

/** Checks credentials and opens a session; null on a wrong email or password (same answer for both). */
export async function login(prisma: PrismaClient, email: string, password: string): Promise<{ user: SessionUser; token: string; expiresAt: Date } | null> {
  const u = await prisma.user.findUnique({ where: { email: email.toLowerCase() } });
  if (!u || !(await verifyPassword(password, u.passwordHash))) return null;
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
