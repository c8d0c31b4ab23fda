/** Collectors created by name: an admin's new collector, and the one collector Hubble imports are stored under. */
import { type CollectorSummary, createCollectorToken } from '../auth/collectors';
import type { PrismaClient } from '../generated/prisma/client';

/** Imported Hubble batches are stored under this collector (its token is never shown). */
export const IMPORT_COLLECTOR = 'hubble-import';

/** A new collector and its token (shown once, only its hash is stored), or null when the name is taken. */
export async function createNamedCollector(
  prisma: PrismaClient,
  name: string,
  createdById: string,
): Promise<{ collector: CollectorSummary; token: string } | null> {
  const exists = await prisma.collector.findUnique({ where: { name } });
  if (exists) return null;
  return createCollectorToken(prisma, name, createdById);
}

/** The id of the `hubble-import` collector, created on first use by the importing user. */
export async function importCollectorId(prisma: PrismaClient, userId: string): Promise<string> {
  const existing = await prisma.collector.findUnique({ where: { name: IMPORT_COLLECTOR } });
  if (existing) return existing.id;
  try {
    return (await createCollectorToken(prisma, IMPORT_COLLECTOR, userId)).collector.id;
  } catch (err) {
    // Two imports racing to create it: the other one won.
    const again = await prisma.collector.findUnique({ where: { name: IMPORT_COLLECTOR } });
    if (again) return again.id;
    throw err;
  }
}
