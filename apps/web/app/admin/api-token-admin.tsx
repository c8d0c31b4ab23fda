'use client';
/** Every user's personal API tokens (`sxu_…`, made with `sextant token create` or by the user): listed, revocable. */
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';

const when = (ms: number | null) => (ms ? new Date(ms).toLocaleString() : 'never');

export function ApiTokenAdmin() {
  const qc = useQueryClient();
  const tokens = useAuthedQuery({ queryKey: ['admin-tokens'], queryFn: () => api.admin.tokens.list.query() });
  return (
    <div className="panel">
      <strong>API tokens</strong> <span className="muted">(personal tokens of every user; they act with their owner&apos;s role)</span>
      {tokens.data && tokens.data.length === 0 && <div className="empty">No API tokens.</div>}
      {tokens.data && tokens.data.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th>name</th>
                <th>owner</th>
                <th>token prefix</th>
                <th>created</th>
                <th>last used</th>
                <th>state</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.owner}</td>
                  <td className="mono">{t.tokenPrefix}…</td>
                  <td>{when(t.createdAt)}</td>
                  <td>{when(t.lastUsedAt)}</td>
                  <td className={t.revokedAt ? 'muted' : 'ok'}>{t.revokedAt ? `revoked ${when(t.revokedAt)}` : 'active'}</td>
                  <td>
                    {!t.revokedAt && (
                      <button
                        type="button"
                        className="secondary small"
                        aria-label={`revoke ${t.name} of ${t.owner}`}
                        onClick={async () => {
                          await api.admin.tokens.revoke.mutate({ id: t.id });
                          await qc.invalidateQueries({ queryKey: ['admin-tokens'] });
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
      )}
    </div>
  );
}
