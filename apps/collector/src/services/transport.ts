/** The collector's tRPC client to the server (type-only import of the router: no server code ships here). */
import type { AppRouter } from '@sextant/api';
import type { CollectorHealthReport, IngestBatchInput, IngestResult, RegisterInput } from '@sextant/shared';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

export interface Transport {
  register(info: RegisterInput): Promise<{ collectorId: string; name: string; serverVersion: string }>;
  push(batch: IngestBatchInput): Promise<IngestResult>;
  heartbeat(report: CollectorHealthReport): Promise<unknown>;
}

export function trpcTransport(server: string, token: string, timeoutMs = 30_000): Transport {
  const client = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${server.replace(/\/$/, '')}/api/trpc`,
        headers: () => ({ authorization: `Bearer ${token}` }),
        fetch: (url, init) => fetch(url, { ...(init as RequestInit), signal: AbortSignal.timeout(timeoutMs) }),
      }),
    ],
  });
  return {
    register: (info) => client.ingest.register.mutate(info),
    push: (batch) => client.ingest.push.mutate(batch),
    heartbeat: (report) => client.ingest.heartbeat.mutate(report),
  };
}

/** Whether sending again could succeed: network errors and server faults yes; a rejected batch no. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof TRPCClientError) {
    const code = (err.data as { code?: string } | undefined)?.code;
    if (code === 'BAD_REQUEST' || code === 'PAYLOAD_TOO_LARGE' || code === 'PARSE_ERROR') return false;
  }
  return true;
}

export function errorCode(err: unknown): string {
  if (err instanceof TRPCClientError) return (err.data as { code?: string } | undefined)?.code ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
