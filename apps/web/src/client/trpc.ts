'use client';
/**
 * Browser tRPC client: same-origin /api/trpc, session cookie sent automatically. Queries and mutations go
 * through the batching HTTP link, subscriptions (the live tail) through server-sent events, which the
 * browser reconnects on its own; the link then sends the last event id so the server resumes after it.
 */
import type { AppRouter } from '@sextant/api';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';

export const api = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({ url: '/api/trpc' }),
      false: httpBatchLink({ url: '/api/trpc' }),
    }),
  ],
});

export function isUnauthorized(err: unknown): boolean {
  return err instanceof TRPCClientError && (err.data as { code?: string } | undefined)?.code === 'UNAUTHORIZED';
}
