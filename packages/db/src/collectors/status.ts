/** Collector figures for `hubble status` and for /api/metrics' collector health gauges. */
import type { PrismaClient } from '../generated/prisma/client';
import { IMPORT_COLLECTOR } from './by-name';

/** Collectors not heard from for this long count as disconnected (as on the Collectors page). */
const CONNECTED_MS = 60_000;
const RATE_WINDOW_MS = 60_000;

export interface CollectorsStatus {
  collectors: { total: number; connected: number; revoked: number };
  /** Flows and L7 events received per second over the last rateWindowSeconds. */
  flowsPerSecond: number;
  /** Kernel events lost, summed over the active collectors' last reports. */
  lostEvents: number;
  rateWindowSeconds: number;
}

/** What `hubble status` answers about collectors, leaving out the Hubble import collector. */
export async function collectorsStatus(prisma: PrismaClient, now = Date.now()): Promise<CollectorsStatus> {
  const collectors = await prisma.collector.findMany({ where: { name: { not: IMPORT_COLLECTOR } } });
  const active = collectors.filter((c) => !c.revokedAt);
  const connected = active.filter((c) => c.lastSeenAt && now - c.lastSeenAt.getTime() <= CONNECTED_MS);
  const lost = active.reduce((sum, c) => sum + Number((c.lastHealth as { lostEvents?: unknown } | null)?.lostEvents ?? 0), 0);
  const rate = await prisma.ingestReceipt.aggregate({
    _sum: { flows: true, l7Events: true },
    where: { receivedAt: { gt: new Date(now - RATE_WINDOW_MS) }, collector: { name: { not: IMPORT_COLLECTOR } } },
  });
  const received = (rate._sum.flows ?? 0) + (rate._sum.l7Events ?? 0);
  return {
    collectors: { total: active.length, connected: connected.length, revoked: collectors.length - active.length },
    flowsPerSecond: received / (RATE_WINDOW_MS / 1000),
    lostEvents: lost,
    rateWindowSeconds: RATE_WINDOW_MS / 1000,
  };
}

export interface CollectorHealthRow {
  name: string;
  lastSeenAt: Date | null;
  lastHealth: unknown;
}

/** Each collector not revoked, with its last health report (the /api/metrics collector gauges). */
export async function activeCollectorHealth(prisma: PrismaClient): Promise<CollectorHealthRow[]> {
  return prisma.collector.findMany({ where: { revokedAt: null }, select: { name: true, lastSeenAt: true, lastHealth: true } });
}
