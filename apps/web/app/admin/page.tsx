// Administration (admins only): checked on the server before anything renders, so a viewer who types the URL
// gets a refusal, not the page. The API enforces the same rule on every admin procedure.
import { SESSION_COOKIE } from '@sextant/api';
import { sessionUser } from '@sextant/db';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { loginHref } from '../../src/client/sign-in-return';
import { getServerDeps } from '../../src/server/deps';
import { ApiTokenAdmin } from './api-token-admin';
import { TokenAdmin } from './token-admin';
import { UserAdmin } from './user-admin';

export const dynamic = 'force-dynamic';

export default async function AdminPage() {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  const user = token ? await sessionUser(getServerDeps().db.prisma, token) : null;
  if (!user) redirect(loginHref('/admin'));
  if (user.role !== 'admin') {
    return (
      <div className="panel" role="alert">
        <h3 style={{ marginTop: 0 }}>Admin role required</h3>
        <p className="muted">
          You are signed in as {user.email} ({user.role}). Administration is for admins only; ask one to change your role.
        </p>
      </div>
    );
  }
  return (
    <>
      <TokenAdmin email={user.email} />
      <UserAdmin email={user.email} />
      <ApiTokenAdmin />
    </>
  );
}
