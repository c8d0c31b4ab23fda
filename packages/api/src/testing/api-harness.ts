/**
 * Test harness: a fresh database, the real API on a real HTTP port, an admin session and a collector token,
 * and tRPC clients speaking HTTP to it exactly as the collector and the UI do.
 */
import { createCollectorToken, createUser, login } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { parseMetricsConfig } from '../metrics/config';
import { setProcessMetrics } from '../metrics/process-metrics';
import { SextantMetrics } from '../metrics/sextant-metrics';
import type { AppRouter } from '../root';
import { startStandaloneServer, type StandaloneServer } from '../standalone';
import { SEXTANT_VERSION } from '../version';

export interface Harness {
  db: TestDatabase;
  server: StandaloneServer;
  collectorToken: string;
  collectorId: string;
  userToken: string;
  client(token?: string | null): ReturnType<typeof createTRPCClient<AppRouter>>;
  close(): Promise<void>;
}

export function trpcClient(url: string, token?: string | null) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/api/trpc`, headers: () => (token ? { authorization: `Bearer ${token}` } : {}) })],
  });
}

export interface HarnessOptions {
  /**
   * The process metrics registry (/api/metrics, Hubble and sextant_* counters) from this metrics environment
   * (e.g. `{}` or `{ SEXTANT_METRICS_TOKEN }`), set for the harness's life: `close` unsets it.
   */
  metrics?: Record<string, string | undefined>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  if (opts.metrics) setProcessMetrics(new SextantMetrics(parseMetricsConfig(opts.metrics)));
  const db = await createTestDatabase(testServerUrl());
  const server = await startStandaloneServer({ db, version: SEXTANT_VERSION });
  const { collector, token } = await createCollectorToken(db.prisma, 'test-host');
  await createUser(db.prisma, 'admin@example.com', 'correct horse battery staple', 'admin');
  const session = await login(db.prisma, 'admin@example.com', 'correct horse battery staple');
  if (!session) throw new Error('login failed');
  return {
    db,
    server,
    collectorToken: token,
    collectorId: collector.id,
    userToken: session.token,
    client: (t) => trpcClient(server.url, t),
    async close() {
      await server.close();
      await db.close();
      if (opts.metrics) setProcessMetrics(undefined);
    },
  };
}

/** The tRPC error a call was refused with; throws when it succeeded or failed otherwise. */
export async function rejection(p: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return err as TRPCClientError<AppRouter>;
    throw err;
  }
  throw new Error('expected the call to be rejected');
}
