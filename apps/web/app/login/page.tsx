'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { safeNextPath } from '../../src/client/sign-in-return';
import { api } from '../../src/client/trpc';

function LoginForm() {
  const router = useRouter();
  // Where the page that sent us here was (same-origin paths only; the map otherwise).
  const next = safeNextPath(useSearchParams().get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="panel login"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          await api.auth.login.mutate({ email, password });
          router.push(next);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2>◈ Sextant</h2>
      <p className="muted">
        Sign in. The first admin&apos;s password was printed by <code>npm start</code>.
      </p>
      <input aria-label="email" placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" />
      <input
        aria-label="password"
        placeholder="password"
        type="password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        autoComplete="current-password"
      />
      <button type="submit">Sign in</button>
      {error && <div className="error">{error}</div>}
    </form>
  );
}

export default function LoginPage() {
  return (
    <Suspense>
      <LoginForm />
    </Suspense>
  );
}
