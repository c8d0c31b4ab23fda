/** `sextant status`, `list collectors`, `import FILE` and `token create|list|revoke`. */
import { readFile } from 'node:fs/promises';
import { fromHubbleJson, HubbleParseError } from '@sextant/shared';
import { type ApiClient, apiClient, call, CliError, type Connection, UsageError } from './client';

export interface Io {
  write(text: string): void;
  warn(text: string): void;
  readStdin(): Promise<string>;
  /** Asks for a secret on the terminal without echoing it; undefined when there is no terminal. */
  askSecret?(question: string): Promise<string>;
}

const CONNECTED_MS = 60_000;
/** Lines per import batch (each batch is one transaction and one idempotency key). */
export const IMPORT_BATCH_LINES = 1000;

function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export async function status(conn: Connection, api: ApiClient, io: Io): Promise<void> {
  let health: { status: string; db: string; version: string };
  try {
    const res = await fetch(`${conn.server}/api/health`, { signal: AbortSignal.timeout(30_000) });
    health = (await res.json()) as typeof health;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach the Sextant server at ${conn.server} (${cause?.code ?? (err as Error).message})`);
  }
  const s = await call(conn, () => api.hubble.status.query());
  const ok = health.status === 'ok' ? 'Ok' : `Degraded (database ${health.db})`;
  io.write(
    [
      `Healthcheck (via ${conn.server}): ${ok}`,
      `Server version: ${s.version}`,
      `Collectors: ${s.collectors.connected}/${s.collectors.total} connected${s.collectors.revoked ? ` (${s.collectors.revoked} revoked)` : ''}`,
      `Flows/s: ${s.flowsPerSecond.toFixed(2)} (last ${s.rateWindowSeconds} s)`,
      `Lost events: ${s.lostEvents}`,
    ].join('\n') + '\n',
  );
}

export async function listCollectors(conn: Connection, api: ApiClient, io: Io, now = Date.now()): Promise<void> {
  const rows = await call(conn, () => api.collectors.list.query());
  const table = [['NAME', 'STATUS', 'LAST SEEN', 'EVENTS/S', 'LOST', 'HOST', 'VERSION']];
  for (const c of rows) {
    const health = c.health as { eventsPerSecond?: number; lostEvents?: number } | null;
    const state = c.revokedAt
      ? 'Revoked'
      : c.name === 'hubble-import'
        ? 'Import'
        : c.lastSeenAt && now - c.lastSeenAt <= CONNECTED_MS
          ? 'Connected'
          : 'Disconnected';
    table.push([
      c.name,
      state,
      ago(c.lastSeenAt, now),
      health?.eventsPerSecond?.toFixed(1) ?? '-',
      String(health?.lostEvents ?? '-'),
      c.hostname ?? '-',
      c.version ?? '-',
    ]);
  }
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  io.write(
    table
      .map((r) =>
        r
          .map((v, i) => (i === r.length - 1 ? v : v.padEnd((widths[i] ?? 0) + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n',
  );
}

/**
 * Imports a `hubble observe -o jsonpb` file. Every line is checked first, so a bad file stores nothing;
 * then batches of lines go to the server, which derives each batch's id from its content.
 */
export async function importFile(conn: Connection, api: ApiClient, file: string, io: Io): Promise<void> {
  let text: string;
  try {
    text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const name = file === '-' ? 'stdin' : file;
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  let records = 0;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      if (fromHubbleJson(line, i + 1).kind !== 'skipped') records++;
    } catch (err) {
      if (err instanceof HubbleParseError) throw new CliError(`${name}: ${err.message} (nothing imported)`);
      throw err;
    }
  });
  const total = { flows: 0, l7: 0, skipped: 0, batches: 0, already: 0, duplicates: 0 };
  for (let start = 0; start < lines.length; start += IMPORT_BATCH_LINES) {
    const chunk = lines.slice(start, start + IMPORT_BATCH_LINES);
    if (!chunk.some((l) => l.trim())) continue;
    const r = await call(conn, () => api.hubble.import.mutate({ lines: chunk, firstLine: start + 1 }));
    total.batches++;
    total.skipped += r.skipped;
    if (r.stored) {
      total.flows += r.flows;
      total.l7 += r.l7;
      total.duplicates += r.duplicates;
    } else total.already++;
  }
  io.write(
    `imported ${total.flows} flows and ${total.l7} L7 events from ${name} (${records} records in ${total.batches} batches` +
      `${total.already ? `, ${total.already} already imported` : ''}${total.duplicates ? `, ${total.duplicates} records already stored` : ''}` +
      `${total.skipped ? `, ${total.skipped} lines skipped` : ''})\n`,
  );
}

export interface TokenOptions {
  name: string;
  email?: string;
  passwordStdin: boolean;
}

/** Signs in with email and password, creates a personal API token, prints it once, signs out. */
export async function createToken(conn: Connection, opts: TokenOptions, io: Io, env: NodeJS.ProcessEnv): Promise<void> {
  const email = opts.email ?? env.SEXTANT_EMAIL;
  if (!email) throw new UsageError('token create: --email (or SEXTANT_EMAIL) is required');
  const password = opts.passwordStdin
    ? ((await io.readStdin()).split(/\r?\n/)[0] ?? '')
    : (env.SEXTANT_PASSWORD ?? (await io.askSecret?.(`Password for ${email}: `)));
  if (!password)
    throw new UsageError('token create: give the password on stdin with --password-stdin, in SEXTANT_PASSWORD, or at the prompt');
  const anon = apiClient(conn, null);
  const session = await call(conn, () => anon.auth.login.mutate({ email, password })).catch((err: Error) => {
    throw /401/.test(err.message) ? new CliError(`sign-in as ${email} failed: wrong email or password`) : err;
  });
  const asUser = apiClient(conn, session.token);
  try {
    const created = await call(conn, () => asUser.tokens.create.mutate({ name: opts.name }));
    io.warn(
      `created API token "${created.token.name}" (${created.token.tokenPrefix}…) for ${session.user.email} with role ${created.role}; it is shown only once:\n`,
    );
    io.write(`${created.secret}\n`);
  } finally {
    await asUser.auth.logout.mutate().catch(() => undefined);
  }
}

export async function listTokens(conn: Connection, api: ApiClient, io: Io, now = Date.now()): Promise<void> {
  const rows = await call(conn, () => api.tokens.list.query());
  const table = [['ID', 'NAME', 'PREFIX', 'CREATED', 'LAST USED', 'STATUS']];
  for (const t of rows)
    table.push([t.id, t.name, `${t.tokenPrefix}…`, ago(t.createdAt, now), ago(t.lastUsedAt, now), t.revokedAt ? 'revoked' : 'active']);
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  io.write(
    table
      .map((r) =>
        r
          .map((v, i) => (i === r.length - 1 ? v : v.padEnd((widths[i] ?? 0) + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n',
  );
}

export async function revokeToken(conn: Connection, api: ApiClient, id: string, io: Io): Promise<void> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError(`token revoke: expected a token id (see "sextant token list"), got "${id}"`);
  await call(conn, () => api.tokens.revoke.mutate({ id }));
  io.write(`revoked ${id}\n`);
}
