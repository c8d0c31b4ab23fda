'use client';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../src/client/trpc';
import { NewCollectorToken } from '../collectors/new-collector-token';
import { useAuthedQuery } from '../../src/client/use-authed-query';

/** Collector tokens: create (shown once) and revoke. */
export function TokenAdmin({ email }: { email: string }) {
  const qc = useQueryClient();
  const list = useAuthedQuery({ queryKey: ['collectors'], queryFn: () => api.collectors.list.query() });
  return (
    <>
      <div className="panel row">
        <strong>Administration</strong>
        <span className="muted">signed in as {email} (admin)</span>
      </div>
      <NewCollectorToken />
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
