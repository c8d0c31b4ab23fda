/** The known services list (dashboards' service picker): names starting with a prefix, most recently seen first. */
import type { PrismaClient } from '../generated/prisma/client';

export interface ServiceSummary {
  name: string;
  namespace: string;
  kind: string;
  /** Epoch milliseconds. */
  lastSeen: number;
}

export async function listServices(prisma: PrismaClient, q: { prefix: string; limit: number }): Promise<ServiceSummary[]> {
  const rows = await prisma.service.findMany({
    where: { name: { startsWith: q.prefix } },
    orderBy: [{ lastSeen: 'desc' }, { name: 'asc' }],
    take: q.limit,
  });
  return rows.map((s) => ({ name: s.name, namespace: s.namespace, kind: s.kind, lastSeen: s.lastSeen.getTime() }));
}
