'use client';
/** React Query with a redirect to /login when the API says the session is missing or expired. */
import { useQuery, type UseQueryOptions } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { isUnauthorized } from './trpc';

export function useAuthedQuery<T>(opts: UseQueryOptions<T, Error, T>) {
  const router = useRouter();
  const q = useQuery(opts);
  useEffect(() => {
    if (q.error && isUnauthorized(q.error)) router.replace('/login');
  }, [q.error, router]);
  return q;
}
