'use client';
/** Create a collector token (admins): the form, and the token with its command line, shown once. */
import { useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { api } from '../../src/client/trpc';

export function NewCollectorToken({ children }: { children?: ReactNode }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <form
        className="panel row"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const r = await api.collectors.create.mutate({ name });
            setCreated({ name, token: r.token });
            setName('');
            await qc.invalidateQueries({ queryKey: ['collectors'] });
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        <strong>New collector token</strong>
        {children}
        <input aria-label="collector name" placeholder="host name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={!name}>
          Create token
        </button>
        {error && <span className="error">{error}</span>}
      </form>
      {created && (
        <div className="panel">
          <p>
            Token for <strong>{created.name}</strong> (shown once):
          </p>
          <pre>{`npm run collector -- --server ${window.location.origin} --token ${created.token}`}</pre>
        </div>
      )}
    </>
  );
}
