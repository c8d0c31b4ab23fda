/**
 * The `sextant` command: observe flows with hubble's flags, server status, collectors, Hubble jsonpb
 * import and personal API tokens. Server and token come from --server/--token or SEXTANT_SERVER /
 * SEXTANT_TOKEN. Exit codes: 0 done, 1 run-time failure (server unreachable, 401, bad file), 2 bad usage.
 */
import { apiClient, CliError, type Connection, normalizeServer, UsageError } from './client';
import { createToken, importFile, type Io, listCollectors, listTokens, revokeToken, status } from './commands';
import { observe, parseObserve } from './observe';

export const USAGE = `usage: sextant [--server URL] [--token TOKEN] <command> [flags]

commands:
  observe [hubble observe flags]   flows and L7 events, e.g. --to-service api --http-status 5+ --last 50
                                   -o compact|dict|json|jsonpb|table, --since 10m, --until, --first N, --follow
  status                           server health, collectors connected, flows/s, lost events
  list collectors                  collectors with their last report
  import FILE|-                    import hubble observe -o jsonpb lines (admin)
  token create --email E [--name N] [--password-stdin]
                                   sign in and create a personal API token (printed once)
  token list | token revoke ID     your API tokens

environment: SEXTANT_SERVER (default http://localhost:3000), SEXTANT_TOKEN, SEXTANT_EMAIL, SEXTANT_PASSWORD
`;

interface Globals {
  server?: string;
  token?: string;
  help: boolean;
  rest: string[];
}

/** Takes --server/--token/--help out of the argument list wherever they are. */
export function splitGlobals(argv: string[]): Globals {
  const g: Globals = { help: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--(server|token)(?:=(.*))?$/.exec(arg);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${m[1]} needs a value`);
      g[m[1] as 'server' | 'token'] = value;
    } else if (arg === '--help' || arg === '-h') g.help = true;
    else g.rest.push(arg);
  }
  return g;
}

function takeFlag(args: string[], name: string, withValue: boolean): string | boolean | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const arg = args[i] as string;
  if (!withValue) {
    args.splice(i, 1);
    return true;
  }
  const inline = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : undefined;
  const value = inline ?? args[i + 1];
  if (value === undefined) throw new UsageError(`--${name} needs a value`);
  args.splice(i, inline !== undefined ? 1 : 2);
  return value;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv, io: Io & { stopped: Promise<void> }): Promise<number> {
  try {
    const g = splitGlobals(argv);
    const [command, ...args] = g.rest;
    if (g.help || !command || command === 'help') {
      io.write(USAGE);
      return command || g.help ? 0 : 2;
    }
    const conn: Connection = {
      server: normalizeServer(g.server ?? env.SEXTANT_SERVER ?? 'http://localhost:3000'),
      token: g.token ?? env.SEXTANT_TOKEN ?? null,
    };
    const api = apiClient(conn);
    const noMore = (what: string) => {
      if (args.length) throw new UsageError(`${what}: unexpected argument "${args[0]}"`);
    };
    switch (command) {
      case 'observe': {
        const now = Date.now();
        const q = parseObserve(args, now);
        await observe(conn, api, q, now, io);
        return 0;
      }
      case 'status':
        noMore('status');
        await status(conn, api, io);
        return 0;
      case 'list': {
        const [what, ...more] = args;
        if (what !== 'collectors') throw new UsageError(`list: expected "collectors", got ${what ? `"${what}"` : 'nothing'}`);
        if (more.length) throw new UsageError(`list collectors: unexpected argument "${more[0]}"`);
        await listCollectors(conn, api, io);
        return 0;
      }
      case 'import': {
        if (args.length !== 1) throw new UsageError('import: expected one FILE (or - for stdin)');
        await importFile(conn, api, args[0] as string, io);
        return 0;
      }
      case 'token': {
        const [sub, ...rest] = args;
        if (sub === 'create') {
          const name = takeFlag(rest, 'name', true);
          const email = takeFlag(rest, 'email', true);
          const passwordStdin = takeFlag(rest, 'password-stdin', false) === true;
          if (rest.length) throw new UsageError(`token create: unexpected argument "${rest[0]}"`);
          await createToken(
            conn,
            { name: typeof name === 'string' ? name : 'sextant-cli', email: typeof email === 'string' ? email : undefined, passwordStdin },
            io,
            env,
          );
        } else if (sub === 'list' && !rest.length) await listTokens(conn, api, io);
        else if (sub === 'revoke' && rest.length === 1) await revokeToken(conn, api, rest[0] as string, io);
        else throw new UsageError('token: expected "create", "list" or "revoke ID"');
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.warn(`sextant: ${err.message}\n(see sextant --help)\n`);
      return 2;
    }
    if (err instanceof CliError) {
      io.warn(`sextant: ${err.message}\n`);
      return 1;
    }
    io.warn(`sextant: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

/** Reads one line from the terminal with echo off (only when stdin is a TTY). */
function askSecret(question: string): Promise<string> | undefined {
  if (!process.stdin.isTTY) return undefined;
  return new Promise((resolve) => {
    const stdin = process.stdin;
    let answer = '';
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(answer);
        }
        if (ch === '\u0003') process.exit(130);
        answer = ch === '\u007f' ? answer.slice(0, -1) : answer + ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const isMain = process.argv[1] !== undefined && /sextant(\.mjs)?$|cli[\\/]src[\\/]index\.ts$/.test(process.argv[1]);
if (isMain) {
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A closed pipe (sextant observe | head) ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const code = await run(process.argv.slice(2), process.env, {
    write: (t) => void process.stdout.write(t),
    warn: (t) => void process.stderr.write(t),
    readStdin,
    askSecret: async (q) => (await askSecret(q)) ?? '',
    stopped,
  });
  // Let stdout drain before exiting.
  process.stdout.write('', () => process.exit(code));
}
