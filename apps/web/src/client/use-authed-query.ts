'use client';
/**
 * React Query with a redirect to /login when the API says the session is missing or expired; the login page
 * returns to this page (path and query) after signing in.
 */
import { useQuery, type UseQueryOptions } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { loginHref } from './sign-in-return';
import { isUnauthorized } from './trpc';

export function useAuthedQuery<T>(opts: UseQueryOptions<T, Error, T>) {
  const router = useRouter();
  const q = useQuery(opts);
  useEffect(() => {
    if (q.error && isUnauthorized(q.error)) router.replace(loginHref(window.location.pathname + window.location.search));
  }, [q.error, router]);
  return q;
}
