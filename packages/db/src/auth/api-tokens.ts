/**
 * Personal API tokens (`sxu_…`) for the CLI and scripts: a user creates them for themselves and they act
 * with that user's current role. Random 256-bit values, stored only as SHA-256 hashes, revocable.
 */
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client';
import { hashToken } from './secrets';
import type { SessionUser } from './users';

export const API_TOKEN_PREFIX = 'sxu_';

export interface ApiTokenSummary {
  id: string;
  name: string;
  tokenPrefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Only refresh last_used_at this often, so every request does not write a row. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function newApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export async function createApiToken(
  prisma: PrismaClient,
  userId: string,
  name: string,
): Promise<{ token: string; apiToken: ApiTokenSummary }> {
  const token = newApiToken();
  const row = await prisma.apiToken.create({
    data: { name, userId, tokenHash: hashToken(token), tokenPrefix: token.slice(0, 10) },
  });
  return { token, apiToken: summarize(row) };
}

/** The user an API token acts for, or null when the token is unknown or revoked. */
export async function apiTokenUser(prisma: PrismaClient, token: string): Promise<SessionUser | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const row = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!row || row.revokedAt) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return { id: row.user.id, email: row.user.email, role: row.user.role };
}

export async function listApiTokens(prisma: PrismaClient, userId: string): Promise<ApiTokenSummary[]> {
  const rows = await prisma.apiToken.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } });
  return rows.map(summarize);
}

/** Revokes one of the user's own tokens; false when it does not exist or belongs to someone else. */
export async function revokeApiToken(prisma: PrismaClient, userId: string, id: string): Promise<boolean> {
  const res = await prisma.apiToken.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (res.count > 0) return true;
  // Revoking an already revoked token of one's own is not an error.
  return (await prisma.apiToken.count({ where: { id, userId } })) > 0;
}

function summarize(r: {
  id: string;
  name: string;
  tokenPrefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}): ApiTokenSummary {
  const { id, name, tokenPrefix, createdAt, lastUsedAt, revokedAt } = r;
  return { id, name, tokenPrefix, createdAt, lastUsedAt, revokedAt };
}
