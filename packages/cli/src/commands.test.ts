/**
 * The other `sextant` commands as a user runs them (a child process against the real API server and PostgreSQL,
 * see testing/cli-rig.ts): import of Hubble captures (and export through the API), status, collectors, API
 * tokens, and the exit codes and messages of bad usage and unreachable or refusing servers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Flow, toHubbleJsonLine } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { apiClient } from './client';
import { expected, id } from './testing/cli-fixtures';
import { CAPTURE, cliRig, freePort } from './testing/cli-rig';

const rig = cliRig();

describe('sextant import', () => {
  const captureWindow = ['--node-name', 'capture-node', '--since', '2026-11-25T11:59:00Z', '--until', '2026-11-25T12:01:00Z'];

  it('imports a hubble jsonpb capture that observe then shows line for line, and stores nothing twice', async () => {
    const r = await rig.sextant(['import', CAPTURE]);
    expect(r.stderr).toBe('');
    expect(r.lines).toEqual([`imported 3 flows and 3 L7 events from ${CAPTURE} (6 records in 1 batches, 1 lines skipped)`]);
    const shown = await rig.sextant(['observe', ...captureWindow, '-o', 'jsonpb']);
    const file = (await readFile(CAPTURE, 'utf8')).split('\n').filter((l) => l.startsWith('{"flow"'));
    expect(shown.lines).toEqual(file);

    const again = await rig.sextant(['import', CAPTURE]);
    expect(again.lines).toEqual([
      `imported 0 flows and 0 L7 events from ${CAPTURE} (6 records in 1 batches, 1 already imported, 1 lines skipped)`,
    ]);
    expect(await rig.count(`SELECT count(*) AS n FROM flows WHERE node_name = 'capture-node'`)).toBe(3);
    expect(await rig.count(`SELECT count(*) AS n FROM l7_events WHERE node_name = 'capture-node'`)).toBe(3);
    const compact = await rig.sextant(['observe', ...captureWindow, '--http-status', '5+']);
    expect(compact.lines).toEqual([
      `Nov 25 12:00:04.262: shop/payments-7d9f-abcde:43210 (payments) <- shop/api-5c6d-fghij:8080 (api) http-response FORWARDED (HTTP/1.1 503 12ms (GET http://api.shop:8080/v1/orders?id=7))`,
    ]);
  });

  it('imports in batches from stdin, idempotently per batch', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 2500; i++) {
      lines.push(
        toHubbleJsonLine(
          Flow.parse({
            id: id(),
            time: Date.UTC(2026, 10, 24, 10) + i,
            nodeName: 'bulk-node',
            verdict: 'FORWARDED',
            l4Protocol: 'TCP',
            ipVersion: 4,
            source: { ip: '10.2.0.1', port: 10000 + i },
            destination: { ip: '10.2.0.2', port: 80 },
          }),
        ),
      );
    }
    const text = lines.join('\n');
    const first = await rig.sextant(['import', '-'], { stdin: text });
    expect(first.lines).toEqual(['imported 2500 flows and 0 L7 events from stdin (2500 records in 3 batches)']);
    // The same lines with more appended: the first batches are the same and are not stored again.
    const extra = toHubbleJsonLine(
      Flow.parse({
        id: id(),
        time: Date.UTC(2026, 10, 24, 11),
        nodeName: 'bulk-node',
        verdict: 'FORWARDED',
        l4Protocol: 'UDP',
        ipVersion: 4,
        source: { ip: '10.2.0.1', port: 9 },
        destination: { ip: '10.2.0.2', port: 53 },
      }),
    );
    const second = await rig.sextant(['import', '-'], { stdin: `${text}\n${extra}\n` });
    expect(second.lines).toEqual([
      'imported 1 flows and 0 L7 events from stdin (2501 records in 3 batches, 2 already imported, 500 records already stored)',
    ]);
    expect(await rig.count(`SELECT count(*) AS n FROM flows WHERE node_name = 'bulk-node'`)).toBe(2501);
  });

  it('rejects a file with a bad line, naming it, and stores nothing', async () => {
    const lines = (await readFile(CAPTURE, 'utf8')).split('\n');
    lines[5] = lines[5]?.replace('"10.1.0.2"', '"10.1.0.999"').replace('capture-node', 'bad-node') ?? '';
    const file = path.join(rig.tmp, 'bad.jsonl');
    await writeFile(file, lines.map((l) => l.replaceAll('capture-node', 'bad-node')).join('\n'));
    const r = await rig.sextant(['import', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^sextant: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line 6: flow\\.IP\\.destination: .* \\(nothing imported\\)\n$`),
    );
    expect(await rig.count(`SELECT count(*) AS n FROM flows WHERE node_name = 'bad-node'`)).toBe(0);
  });

  it('the server rejects a whole batch with a bad line, naming the line, and stores nothing of it', async () => {
    const good = (await readFile(CAPTURE, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replaceAll('capture-node', 'server-check'));
    const batch = [
      ...good.slice(0, 3),
      '{"flow": {"time": "not a time", "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"}, "l4": {"UDP": {}}}}',
      ...good.slice(3),
    ];
    const admin = apiClient({ server: rig.server.url, token: rig.adminToken });
    await expect(admin.hubble.import.mutate({ lines: batch, firstLine: 101 })).rejects.toThrow(
      'line 104: flow.time: not an RFC 3339 time: "not a time"',
    );
    expect(await rig.count(`SELECT count(*) AS n FROM flows WHERE node_name = 'server-check'`)).toBe(0);
    // Viewers may read but not import.
    const viewer = apiClient({ server: rig.server.url, token: rig.viewerToken });
    await expect(viewer.hubble.import.mutate({ lines: good })).rejects.toThrow(/admin role required/);
    const r = await rig.sextant(['import', CAPTURE], { token: rig.viewerToken });
    expect([r.code, r.stderr]).toEqual([1, `sextant: ${rig.server.url} refused the request (403 Forbidden): admin role required\n`]);
  });

  it('exports through the API the same lines observe prints', async () => {
    const admin = apiClient({ server: rig.server.url, token: rig.adminToken });
    const page = await admin.hubble.export.query({
      filter: { allow: [{ nodeName: ['capture-node'] }], deny: [] },
      window: { since: Date.UTC(2026, 10, 25, 11, 59), until: Date.UTC(2026, 10, 25, 12, 1) },
    });
    const file = (await readFile(CAPTURE, 'utf8')).split('\n').filter((l) => l.startsWith('{"flow"'));
    expect(page.lines).toEqual([...file].reverse());
    expect(page.nextCursor).toBeNull();
  });
});

describe('sextant status, collectors, tokens and errors', () => {
  it('reports status and lists collectors', async () => {
    const s = await rig.sextant(['status']);
    expect(s.stderr).toBe('');
    expect(s.lines.slice(0, 3)).toEqual([`Healthcheck (via ${rig.server.url}): Ok`, 'Server version: 0.1.0', 'Collectors: 1/1 connected']);
    // Records the collector sent in the last minute (imports do not count): the 9 of the setup (this file's database).
    expect(s.lines[3]).toMatch(/^Flows\/s: \d+\.\d\d \(last 60 s\)$/);
    expect(Number(s.lines[3]?.split(' ')[1])).toBeGreaterThan(0);
    expect(Number(s.lines[3]?.split(' ')[1])).toBeLessThanOrEqual(0.17);
    expect(s.lines[4]).toBe('Lost events: 7');
    const l = await rig.sextant(['list', 'collectors'], { token: rig.viewerToken });
    expect(l.lines.map((x) => x.split(/ {3,}/))).toEqual([
      ['NAME', 'STATUS', 'LAST SEEN', 'EVENTS/S', 'LOST', 'HOST', 'VERSION'],
      ['hubble-import', 'Import', expect.stringMatching(/^\d+s ago$/), '-', '-', '-', '-'],
      ['node-a', 'Connected', expect.stringMatching(/^\d+s ago$/), '12.5', '7', 'host-a', '0.1.0'],
    ]);
  });

  it('creates a token with email and password, which then works until revoked', async () => {
    const r = await rig.sextant(['token', 'create', '--email', 'viewer@example.com', '--name', 'laptop', '--password-stdin'], {
      token: null,
      stdin: 'viewer password\n',
    });
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(1);
    const token = r.lines[0] as string;
    expect(token).toMatch(/^sxu_[A-Za-z0-9_-]{43}$/);
    expect(r.stderr).toBe(
      `created API token "laptop" (${token.slice(0, 10)}…) for viewer@example.com with role viewer; it is shown only once:\n`,
    );
    expect((await rig.sextant(['observe', '--node-name', 'node-a', '--verdict', 'DROPPED'], { token })).lines).toEqual(expected('F2'));
    const list = await rig.sextant(['token', 'list'], { token });
    // The viewer's token from the setup, then the new one.
    const rows = list.lines.map((l) => l.split(/ {3,}/));
    expect(rows.map((r) => [r[1], r[2], r[5]])).toEqual([
      ['NAME', 'PREFIX', 'STATUS'],
      ['viewer-cli', `${rig.viewerToken.slice(0, 10)}…`, 'active'],
      ['laptop', `${token.slice(0, 10)}…`, 'active'],
    ]);
    const tokenId = rows[2]?.[0] as string;
    expect((await rig.sextant(['token', 'revoke', tokenId], { token })).lines).toEqual([`revoked ${tokenId}`]);
    const after = await rig.sextant(['observe', '--verdict', 'DROPPED'], { token });
    expect([after.code, after.stdout, after.stderr]).toEqual([
      1,
      '',
      `sextant: ${rig.server.url} refused the request (401 Unauthorized): the token is unknown or revoked\n`,
    ]);
    const wrong = await rig.sextant(['token', 'create', '--email', 'viewer@example.com', '--password-stdin'], {
      token: null,
      stdin: 'nope\n',
    });
    expect([wrong.code, wrong.stderr]).toEqual([1, 'sextant: sign-in as viewer@example.com failed: wrong email or password\n']);
  });

  it('exits 2 with a message for bad usage', async () => {
    const cases: [string[], string][] = [
      [['observe', '--bogus'], 'unknown flag --bogus'],
      [['observe', '--http-status', 'abc'], 'invalid filter value at httpStatusCode.0: expected a status like 503, 5+ or 50+'],
      [['observe', '--last', '0'], '--last: expected a positive integer'],
      [
        ['observe', '--ip', '10.0.0.300'],
        'allow.0.sourceIp: not an IP or CIDR: 10.0.0.300; allow.1.destinationIp: not an IP or CIDR: 10.0.0.300',
      ],
      [['observe', '-o', 'xml'], '--output: expected one of compact, dict, json, jsonpb, table, got "xml"'],
      [['observe', '--follow', '--until', '1m'], '--follow cannot be combined with --until or --first'],
      [['observe', '--since', '1m', '--until', '2m'], '--since must be before --until'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['list', 'nodes'], 'list: expected "collectors", got "nodes"'],
      [['import'], 'import: expected one FILE (or - for stdin)'],
      [['--server', 'ftp://x', 'status'], '--server: expected an http(s) URL, got "ftp://x"'],
      [
        ['token', 'create', '--email', 'viewer@example.com'],
        'token create: give the password on stdin with --password-stdin, in SEXTANT_PASSWORD, or at the prompt',
      ],
    ];
    // All at once (each its own process), compared with what each must print.
    const got = await Promise.all(
      cases.map(async ([args]) => {
        const r = await rig.sextant(args);
        return [args, r.code, r.stdout, r.stderr];
      }),
    );
    expect(got).toEqual(cases.map(([args, message]) => [args, 2, '', `sextant: ${message}\n(see sextant --help)\n`]));
  });

  it('exits 1 with a message for an unreachable server or a refused token', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    // All at once (each its own process; none of them changes anything), then compared one by one.
    const [down, status, bad, none, missing] = await Promise.all([
      rig.sextant(['observe', '--last', '3'], { server: url }),
      rig.sextant(['status'], { server: url }),
      rig.sextant(['list', 'collectors'], { token: 'sxu_not-a-real-token' }),
      rig.sextant(['observe'], { token: null }),
      rig.sextant(['import', path.join(rig.tmp, 'nope.jsonl')]),
    ]);
    expect([down.code, down.stdout]).toEqual([1, '']);
    expect(down.stderr).toBe(`sextant: cannot reach the Sextant server at ${url} (ECONNREFUSED: connect ECONNREFUSED ${url.slice(7)})\n`);
    expect([status.code, status.stderr]).toEqual([1, `sextant: cannot reach the Sextant server at ${url} (ECONNREFUSED)\n`]);
    expect([bad.code, bad.stderr]).toEqual([
      1,
      `sextant: ${rig.server.url} refused the request (401 Unauthorized): the token is unknown or revoked\n`,
    ]);
    expect([none.code, none.stderr]).toEqual([
      1,
      `sextant: ${rig.server.url} refused the request (401 Unauthorized): no token given (--token or SEXTANT_TOKEN; create one with "sextant token create")\n`,
    ]);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      `sextant: cannot read ${path.join(rig.tmp, 'nope.jsonl')}: ENOENT: no such file or directory, open '${path.join(rig.tmp, 'nope.jsonl')}'\n`,
    ]);
  });
});
