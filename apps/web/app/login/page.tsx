'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { api } from '../../src/client/trpc';

export default function LoginPage() {
  const router = useRouter();
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
          router.push('/map');
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2>◈ Sextant</h2>
      <p className="muted">Sign in. The first admin&apos;s password was printed by <code>npm start</code>.</p>
      <input aria-label="email" placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" />
      <input aria-label="password" placeholder="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
      <button type="submit">Sign in</button>
      {error && <div className="error">{error}</div>}
    </form>
  );
}
