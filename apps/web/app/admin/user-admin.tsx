'use client';
/** Users: invite (a one-time password shown once), change role, disable and enable (a new one-time password). */
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';

type Role = 'viewer' | 'admin';

export function UserAdmin({ email: myEmail }: { email: string }) {
  const qc = useQueryClient();
  const users = useAuthedQuery({ queryKey: ['admin-users'], queryFn: () => api.admin.users.list.query() });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [shown, setShown] = useState<{ email: string; password: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
    } catch (err) {
      setError((err as Error).message);
    }
    await qc.invalidateQueries({ queryKey: ['admin-users'] });
    await qc.invalidateQueries({ queryKey: ['admin-tokens'] });
  };
  return (
    <div className="panel">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const r = await api.admin.users.invite.mutate({ email, role });
            setShown({ email: r.user.email, password: r.password });
            setEmail('');
          });
        }}
      >
        <strong>Users</strong>
        <span className="spacer" />
        <input aria-label="new user email" placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        <select aria-label="new user role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="viewer">viewer</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit" disabled={!email}>
          Invite
        </button>
      </form>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {shown && (
        <div className="one-time" role="status">
          One-time password for <strong>{shown.email}</strong> (shown once — hand it over now; it cannot be shown again):
          <pre>{shown.password}</pre>
          <button type="button" className="secondary small" onClick={() => setShown(null)}>
            done
          </button>
        </div>
      )}
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th>email</th>
              <th>role</th>
              <th>state</th>
              <th>sessions</th>
              <th>API tokens</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data?.map((u) => {
              const me = u.email === myEmail;
              return (
                <tr key={u.id}>
                  <td>
                    {u.email}
                    {me && <span className="muted"> (you)</span>}
                  </td>
                  <td>
                    <select
                      aria-label={`role of ${u.email}`}
                      value={u.role}
                      disabled={me}
                      title={me ? 'you cannot change your own role' : undefined}
                      onChange={(e) => void act(() => api.admin.users.setRole.mutate({ id: u.id, role: e.target.value as Role }))}
                    >
                      <option value="viewer">viewer</option>
                      <option value="admin">admin</option>
                    </select>
                  </td>
                  <td className={u.disabled ? 'warn' : 'ok'}>{u.disabled ? 'disabled' : 'active'}</td>
                  <td>{u.sessions}</td>
                  <td>{u.activeTokens}</td>
                  <td>{new Date(u.createdAt).toLocaleDateString()}</td>
                  <td>
                    {!me && !u.disabled && (
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => void act(() => api.admin.users.disable.mutate({ id: u.id }))}
                        title="ends its sessions and revokes its API tokens"
                      >
                        disable
                      </button>
                    )}
                    {u.disabled && (
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() =>
                          void act(async () => {
                            const r = await api.admin.users.enable.mutate({ id: u.id });
                            setShown({ email: u.email, password: r.password });
                          })
                        }
                      >
                        enable (new password)
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
