/**
 * Applies prisma/migrations with `prisma migrate deploy` (the WASM schema engine, no network needed).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** What `prisma migrate deploy` prints once every migration is committed (or there was none to apply). */
const MIGRATED = /^(All migrations have been successfully applied\.|No pending migrations to apply\.)$/m;

/**
 * `prisma migrate deploy`, done once prisma says every migration is applied. The CLI stays alive 10 s more after
 * that (a timer of its WASM schema engine keeps node running, with an idle connection to the database), which every
 * start and every test run's setup waited for: it is stopped then, and waited for, so no session is left behind.
 */
export async function migrateDatabase(databaseUrl: string, opts: { quiet?: boolean } = {}): Promise<void> {
  const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let migrated = false;
  const onData = (to: NodeJS.WriteStream) => (d: Buffer) => {
    if (!opts.quiet) to.write(d);
    output += d.toString();
    if (!migrated && MIGRATED.test(output)) {
      migrated = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData(process.stdout));
  child.stderr.on('data', onData(process.stderr));
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 || (migrated && signal === 'SIGTERM')
        ? resolve()
        : reject(new Error(`prisma migrate deploy failed (exit ${code ?? signal}):\n${output}`)),
    );
  });
}
