'use client';
/** Browser tRPC client: same-origin /api/trpc, session cookie sent automatically. */
import type { AppRouter } from '@sextant/api';
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';

export const api = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: '/api/trpc' })] });

export function isUnauthorized(err: unknown): boolean {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === 'UNAUTHORIZED';
}
