'use client';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';

/** Collector tokens: create (shown once) and revoke. */
export function TokenAdmin({ email }: { email: string }) {
  const qc = useQueryClient();
  const list = useAuthedQuery({ queryKey: ['collectors'], queryFn: () => api.collectors.list.query() });
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <div className="panel row">
        <strong>Administration</strong>
        <span className="muted">signed in as {email} (admin)</span>
      </div>
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
      <div className="panel">
        <strong>Collector tokens</strong>
        <table>
          <thead>
            <tr>
              <th>name</th>
              <th>token prefix</th>
              <th>created</th>
              <th>state</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data?.map((c) => (
              <tr key={c.id}>
                <td>{c.name}</td>
                <td className="mono">{c.tokenPrefix}…</td>
                <td>{new Date(c.createdAt).toLocaleString()}</td>
                <td className={c.revokedAt ? 'muted' : 'ok'}>
                  {c.revokedAt ? `revoked ${new Date(c.revokedAt).toLocaleString()}` : 'active'}
                </td>
                <td>
                  {!c.revokedAt && (
                    <button
                      className="secondary"
                      onClick={async () => {
                        await api.collectors.revoke.mutate({ id: c.id });
                        await qc.invalidateQueries({ queryKey: ['collectors'] });
                      }}
                    >
                      revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
