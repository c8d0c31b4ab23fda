/** Collector tokens: created by an admin (or `npm start` for the local collector), presented as Bearer. */
import type { PrismaClient } from '../generated/prisma/client';
import { hashToken, newToken } from './secrets';

export interface CollectorSummary {
  id: string;
  name: string;
  tokenPrefix: string;
  createdAt: Date;
  revokedAt: Date | null;
  hostname: string | null;
  version: string | null;
  kernel: string | null;
  lastSeenAt: Date | null;
  lastHealth: unknown;
}

export async function createCollectorToken(
  prisma: PrismaClient,
  name: string,
  createdById?: string,
): Promise<{ collector: CollectorSummary; token: string }> {
  const token = newToken('collector');
  const collector = await prisma.collector.create({
    data: { name, tokenHash: hashToken(token), tokenPrefix: token.slice(0, 10), createdById: createdById ?? null },
  });
  return { collector: summarize(collector), token };
}

/** The collector a token belongs to, or null when the token is unknown or revoked. */
export async function authenticateCollector(prisma: PrismaClient, token: string): Promise<CollectorSummary | null> {
  if (!token.startsWith('sxc_')) return null;
  const c = await prisma.collector.findUnique({ where: { tokenHash: hashToken(token) } });
  return c && !c.revokedAt ? summarize(c) : null;
}

export async function revokeCollector(prisma: PrismaClient, id: string): Promise<void> {
  await prisma.collector.update({ where: { id }, data: { revokedAt: new Date() } });
}

export async function registerCollector(
  prisma: PrismaClient,
  id: string,
  info: { hostname: string; version: string; kernel: string },
): Promise<CollectorSummary> {
  return summarize(await prisma.collector.update({ where: { id }, data: { ...info, lastSeenAt: new Date() } }));
}

export async function listCollectors(prisma: PrismaClient): Promise<CollectorSummary[]> {
  const rows = await prisma.collector.findMany({ orderBy: { name: 'asc' } });
  return rows.map(summarize);
}

/** The summary's fields of a collector row (which has more: the token hash, who created it). */
function summarize(c: CollectorSummary): CollectorSummary {
  const { id, name, tokenPrefix, createdAt, revokedAt, hostname, version, kernel, lastSeenAt, lastHealth } = c;
  return { id, name, tokenPrefix, createdAt, revokedAt, hostname, version, kernel, lastSeenAt, lastHealth };
}
