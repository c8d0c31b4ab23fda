/**
 * `npm run admin:reset`: sets the password of an admin account (creating it when missing), for when the
 * first-start password was lost. Uses DATABASE_URL, or the embedded PostgreSQL of `npm start` when it runs.
 */
import { connect, hashPassword } from '../packages/db/src/index';

const url = process.env.DATABASE_URL ?? `postgresql://sextant:sextant@127.0.0.1:${process.env.SEXTANT_PG_PORT ?? 54320}/sextant`;
const email = (process.env.SEXTANT_ADMIN_EMAIL ?? 'admin@localhost').toLowerCase();
const password = process.env.SEXTANT_ADMIN_PASSWORD;
if (!password || password.length < 8) {
  console.error('set SEXTANT_ADMIN_PASSWORD (at least 8 characters)');
  process.exit(2);
}
const db = connect(url, { poolSize: 1 });
try {
  const passwordHash = await hashPassword(password);
  await db.prisma.user.upsert({
    where: { email },
    update: { passwordHash, role: 'admin' },
    create: { email, passwordHash, role: 'admin' },
  });
  await db.prisma.session.deleteMany({ where: { user: { email } } });
  console.log(`admin ${email}: password set, existing sessions signed out`);
} catch (err) {
  console.error(`could not reach the database at ${url.replace(/:[^:@/]+@/, ':***@')}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.close();
}
