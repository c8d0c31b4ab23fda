/** First-start accounts: the first admin user and the local collector's token. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { countUsers, createCollectorToken, createUser, hashToken, type PrismaClient } from '../packages/db/src/index';

/**
 * Creates the first admin when there are no users: from SEXTANT_ADMIN_EMAIL / SEXTANT_ADMIN_PASSWORD, or
 * admin@localhost with a generated password printed once (never stored in clear).
 */
export async function ensureFirstAdmin(prisma: PrismaClient, _stateDir: string, log: (m: string) => void): Promise<void> {
  if ((await countUsers(prisma)) > 0) return;
  const email = process.env.SEXTANT_ADMIN_EMAIL ?? 'admin@localhost';
  const given = process.env.SEXTANT_ADMIN_PASSWORD;
  const password = given ?? crypto.randomBytes(12).toString('base64url');
  await createUser(prisma, email, password, 'admin');
  if (given) log(`created admin ${email} (password from SEXTANT_ADMIN_PASSWORD)`);
  else log(`created admin ${email} with password ${password}  <- shown once, sign in and keep it`);
}

/** The local collector's token, kept in .sextant/ (0600) so restarts reuse the same collector identity. */
export async function ensureLocalCollectorToken(prisma: PrismaClient, stateDir: string, name: string): Promise<string> {
  const file = path.join(stateDir, 'local-collector.token');
  if (fs.existsSync(file)) {
    const token = fs.readFileSync(file, 'utf8').trim();
    const c = await prisma.collector.findUnique({ where: { tokenHash: hashToken(token) } });
    if (c && !c.revokedAt) return token;
  }
  await prisma.collector.deleteMany({ where: { name } });
  const { token } = await createCollectorToken(prisma, name);
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
