/**
 * The `sextant` command as a user runs it: a child process (`node packages/cli/bin/sextant.mjs`) against the
 * real API server on 127.0.0.1 and a real PostgreSQL, with flows ingested through a collector token.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandaloneServer, type StandaloneServer } from '@sextant/api/standalone';
import { createApiToken, createCollectorToken, createUser } from '@sextant/db';
import { createTestDatabase, testServerUrl, type TestDatabase } from '@sextant/db/testing';
import { encodeBatch, Flow, type FlowInput, L7Event, type L7EventInput, toHubbleJson, toHubbleJsonLine } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from './client';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../bin/sextant.mjs');
const CAPTURE = path.resolve(HERE, '../test-fixtures/hubble-capture.jsonl');

let db: TestDatabase;
let server: StandaloneServer;
let adminToken: string;
let viewerToken: string;
let collectorToken: string;
let tmp: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

function sextant(args: string[], opts: { token?: string | null; stdin?: string; server?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', SEXTANT_SERVER: opts.server ?? server.url };
    const token = opts.token === undefined ? adminToken : opts.token;
    if (token) env.SEXTANT_TOKEN = token;
    else delete env.SEXTANT_TOKEN;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lines: stdout.split('\n').filter(Boolean) });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

// Known traffic: whole seconds five minutes ago, so every time prints exactly.
const base = Math.floor(Date.now() / 1000) * 1000 - 300_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ts = (ms: number) => {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 23)}`;
};
const ep = (ip: string, port: number, service: string, namespace: string) => ({ ip, port, service, namespace });
const payments = (port: number) => ep('10.0.0.1', port, 'payments', 'shop');
const api = ep('10.0.0.2', 8080, 'api', 'shop');
const web = (port: number) => ep('10.0.0.3', port, 'web', 'shop');
const kubeDns = ep('10.96.0.10', 53, 'kube-dns', 'kube-system');
const id = () => crypto.randomUUID();
const flow = (f: Omit<FlowInput, 'id' | 'nodeName' | 'ipVersion' | 'verdict'> & Partial<FlowInput>): FlowInput => ({
  id: id(),
  nodeName: 'node-a',
  ipVersion: 4,
  verdict: 'FORWARDED',
  trafficDirection: 'EGRESS',
  ...f,
});
const F1 = flow({
  time: base + 1123,
  l4Protocol: 'TCP',
  source: payments(43210),
  destination: api,
  tcpFlags: ['SYN', 'ACK', 'FIN'],
  bytesSent: 512,
});
const F2 = flow({
  time: base + 2000,
  l4Protocol: 'TCP',
  verdict: 'DROPPED',
  dropReason: 'POLICY_DENIED',
  trafficDirection: 'INGRESS',
  source: web(50000),
  destination: ep('10.0.0.4', 5432, 'db', 'data'),
  tcpFlags: ['SYN'],
});
const F3 = flow({ time: base + 3000, l4Protocol: 'UDP', source: payments(53000), destination: kubeDns });
const F5 = flow({
  time: base + 3500,
  l4Protocol: 'TCP',
  source: payments(43300),
  destination: ep('10.0.0.5', 8080, 'ledger', 'finance'),
  tcpFlags: ['SYN', 'ACK'],
});
const http = (
  time: number,
  source: ReturnType<typeof ep>,
  method: string,
  url: string,
  code: number,
  ms: number,
  host?: string,
): L7EventInput => ({
  id: id(),
  flowId: F1.id,
  time,
  nodeName: 'node-a',
  type: 'RESPONSE',
  protocol: 'http',
  latencyNs: ms * 1_000_000,
  source,
  destination: api,
  http: { method, url, path: url, code, ...(host ? { host } : {}) },
});
const L1 = http(base + 4000, payments(43210), 'GET', '/v1/orders', 200, 5, 'api.shop:8080');
const L2 = http(base + 5000, payments(43210), 'POST', '/v1/pay', 503, 12, 'api.shop:8080');
const L3 = http(base + 6000, web(50002), 'GET', '/health', 502, 3);
const L4: L7EventInput = {
  id: id(),
  flowId: F3.id,
  time: base + 7000,
  nodeName: 'node-a',
  type: 'RESPONSE',
  protocol: 'dns',
  latencyNs: 350_000,
  source: payments(53000),
  destination: kubeDns,
  dns: { query: 'api.shop.svc.cluster.local.', ips: ['10.0.0.2'], ttl: 30, qtypes: ['A'], rrtypes: ['A'], rcode: 0 },
};
const F4 = flow({ time: base + 8000, l4Protocol: 'TCP', source: web(50001), destination: api, tcpFlags: ['SYN', 'ACK'] });
const FLOWS = [F1, F2, F3, F5, F4];
const EVENTS = [L1, L2, L3, L4];

const EXPECTED: Record<string, string> = {
  F1: `${ts(F1.time)}: 10.0.0.1:43210 (payments) -> 10.0.0.2:8080 (api) to-stack FORWARDED (TCP Flags: FIN, SYN, ACK)`,
  F2: `${ts(F2.time)}: 10.0.0.3:50000 (web) -> 10.0.0.4:5432 (db) Policy denied DROPPED (TCP Flags: SYN)`,
  F3: `${ts(F3.time)}: 10.0.0.1:53000 (payments) -> 10.96.0.10:53 (kube-dns) to-stack FORWARDED (UDP)`,
  F5: `${ts(F5.time)}: 10.0.0.1:43300 (payments) -> 10.0.0.5:8080 (ledger) to-stack FORWARDED (TCP Flags: SYN, ACK)`,
  L1: `${ts(L1.time)}: 10.0.0.1:43210 (payments) <- 10.0.0.2:8080 (api) http-response FORWARDED (HTTP/1.1 200 5ms (GET http://api.shop:8080/v1/orders))`,
  L2: `${ts(L2.time)}: 10.0.0.1:43210 (payments) <- 10.0.0.2:8080 (api) http-response FORWARDED (HTTP/1.1 503 12ms (POST http://api.shop:8080/v1/pay))`,
  L3: `${ts(L3.time)}: 10.0.0.3:50002 (web) <- 10.0.0.2:8080 (api) http-response FORWARDED (HTTP/1.1 502 3ms (GET /health))`,
  L4: `${ts(L4.time)}: 10.0.0.1:53000 (payments) <- 10.96.0.10:53 (kube-dns) dns-response FORWARDED (DNS Answer "10.0.0.2" TTL: 30 (Proxy api.shop.svc.cluster.local. A))`,
  F4: `${ts(F4.time)}: 10.0.0.3:50001 (web) -> 10.0.0.2:8080 (api) to-stack FORWARDED (TCP Flags: SYN, ACK)`,
};
const expected = (...names: string[]) => names.map((n) => EXPECTED[n]);
const ALL = ['F1', 'F2', 'F3', 'F5', 'L1', 'L2', 'L3', 'L4', 'F4'];

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.pool.query(sql, params)).rows[0].n);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  db = await createTestDatabase(testServerUrl());
  server = await startStandaloneServer({ db, version: '0.1.0' });
  const admin = await createUser(db.prisma, 'admin@example.com', 'correct horse battery staple', 'admin');
  const viewer = await createUser(db.prisma, 'viewer@example.com', 'viewer password', 'viewer');
  adminToken = (await createApiToken(db.prisma, admin.id, 'cli-tests')).token;
  viewerToken = (await createApiToken(db.prisma, viewer.id, 'viewer-cli')).token;
  collectorToken = (await createCollectorToken(db.prisma, 'node-a')).token;
  const collector = apiClient({ server: server.url, token: collectorToken });
  const health = { time: Date.now(), version: '0.1.0', kernel: '6.1.0', hostname: 'host-a', eventsPerSecond: 12.5, lostEvents: 7 };
  await collector.ingest.push.mutate(encodeBatch({ batchId: id(), sentAt: Date.now(), flows: FLOWS, l7: EVENTS, health }));
  tmp = await mkdtemp(path.join(tmpdir(), 'sextant-cli-'));
});

afterAll(async () => {
  await server?.close();
  await db?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('sextant observe', () => {
  it('prints the last N records oldest first in hubble compact form', async () => {
    const r = await sextant(['observe', '--last', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(expected('L3', 'L4', 'F4'));
    expect((await sextant(['observe', '--node-name', 'node-a'])).lines).toEqual(expected(...ALL));
  });

  it('filters like hubble observe', async () => {
    const lines = async (...args: string[]) => {
      const r = await sextant(['observe', '--node-name', 'node-a', ...args]);
      expect(r.stderr).toBe('');
      return r.lines;
    };
    expect(await lines('--http-status', '5+')).toEqual(expected('L2', 'L3'));
    expect(await lines('--not', '--verdict', 'DROPPED')).toEqual(expected(...ALL.filter((n) => n !== 'F2')));
    expect(await lines('--verdict', 'DROPPED')).toEqual(expected('F2'));
    // Either side: source in shop on 8080, or destination in shop on 8080 — not payments → ledger:8080.
    expect(await lines('--namespace', 'shop', '--port', '8080')).toEqual(expected('F1', 'L1', 'L2', 'L3', 'F4'));
    expect(await lines('--from-service', 'payments', '--protocol', 'http')).toEqual(expected('L1', 'L2'));
    expect(await lines('--http-method', 'POST')).toEqual(expected('L2'));
    expect(await lines('--http-path', '^/v1/')).toEqual(expected('L1', 'L2'));
    expect(await lines('--ip', '10.96.0.10')).toEqual(expected('F3', 'L4'));
    expect(await lines('--type', 'l7', '--last', '2')).toEqual(expected('L3', 'L4'));
    expect(await lines('--protocol', 'udp')).toEqual(expected('F3', 'L4'));
    expect(await lines('--since', new Date(base + 2500).toISOString(), '--until', new Date(base + 5500).toISOString())).toEqual(
      expected('F3', 'F5', 'L1', 'L2'),
    );
    expect(await lines('--since', new Date(base).toISOString(), '--first', '2')).toEqual(expected('F1', 'F2'));
  });

  it('writes jsonpb lines equal to the ingested records in Hubble form, and json as the bare flow', async () => {
    const r = await sextant(['observe', '--node-name', 'node-a', '-o', 'jsonpb']);
    const want = [F1, F2, F3, F5, L1, L2, L3, L4, F4].map((x) =>
      'flowId' in x ? toHubbleJson(L7Event.parse(x)) : toHubbleJson(Flow.parse(x)),
    );
    expect(r.lines.map((l) => JSON.parse(l))).toEqual(want);
    expect(want[0]).toMatchObject({
      node_name: 'node-a',
      flow: {
        uuid: F1.id,
        IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
        l4: { TCP: { source_port: 43210, destination_port: 8080 } },
      },
    });
    const json = await sextant(['observe', '--verdict', 'DROPPED', '-o', 'json']);
    expect(json.lines.map((l) => JSON.parse(l))).toEqual([toHubbleJson(Flow.parse(F2)).flow]);
  });

  it('prints dict and table forms', async () => {
    const dict = await sextant(['observe', '--node-name', 'node-a', '--http-status', '5+', '-o', 'dict']);
    expect(dict.stdout).toBe(
      [
        `  TIMESTAMP: ${ts(L2.time)}`,
        '     SOURCE: shop/api:8080',
        'DESTINATION: shop/payments:43210',
        '       TYPE: http-response',
        '    VERDICT: FORWARDED',
        '    SUMMARY: HTTP/1.1 503 12ms (POST http://api.shop:8080/v1/pay)',
        '------------',
        `  TIMESTAMP: ${ts(L3.time)}`,
        '     SOURCE: shop/api:8080',
        'DESTINATION: shop/web:50002',
        '       TYPE: http-response',
        '    VERDICT: FORWARDED',
        '    SUMMARY: HTTP/1.1 502 3ms (GET /health)',
        '',
      ].join('\n'),
    );
    const table = await sextant(['observe', '--verdict', 'DROPPED', '--verdict', 'FORWARDED', '--ip', '10.0.0.4', '-o', 'table']);
    expect(table.lines.map((l) => l.split(/ {3,}/))).toEqual([
      ['TIMESTAMP', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY'],
      [ts(F2.time), 'shop/web:50000', 'data/db:5432', 'Policy denied', 'DROPPED', 'TCP Flags: SYN'],
    ]);
  });

  it('follows new records', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', SEXTANT_SERVER: server.url, SEXTANT_TOKEN: adminToken };
    const child = spawn(process.execPath, [BIN, 'observe', '--follow', '--node-name', 'node-a'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      // Give it time to start and read what is already stored (none of which must be printed).
      await new Promise((r) => setTimeout(r, 4000));
      const late = flow({ time: Date.now(), l4Protocol: 'TCP', source: web(50100), destination: api, tcpFlags: ['SYN'] });
      await apiClient({ server: server.url, token: collectorToken }).ingest.push.mutate(
        encodeBatch({ batchId: id(), sentAt: Date.now(), flows: [late] }),
      );
      const deadline = Date.now() + 20_000;
      while (!out.includes('10.0.0.3:50100') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(err).toBe('');
      expect(out.split('\n').filter(Boolean)).toEqual([
        `${ts(late.time)}: 10.0.0.3:50100 (web) -> 10.0.0.2:8080 (api) to-stack FORWARDED (TCP Flags: SYN)`,
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

describe('sextant import', () => {
  const captureWindow = ['--node-name', 'capture-node', '--since', '2026-11-25T11:59:00Z', '--until', '2026-11-25T12:01:00Z'];

  it('imports a hubble jsonpb capture that observe then shows line for line, and stores nothing twice', async () => {
    const r = await sextant(['import', CAPTURE]);
    expect(r.stderr).toBe('');
    expect(r.lines).toEqual([`imported 3 flows and 3 L7 events from ${CAPTURE} (6 records in 1 batches, 1 lines skipped)`]);
    const shown = await sextant(['observe', ...captureWindow, '-o', 'jsonpb']);
    const file = (await readFile(CAPTURE, 'utf8')).split('\n').filter((l) => l.startsWith('{"flow"'));
    expect(shown.lines).toEqual(file);

    const again = await sextant(['import', CAPTURE]);
    expect(again.lines).toEqual([
      `imported 0 flows and 0 L7 events from ${CAPTURE} (6 records in 1 batches, 1 already imported, 1 lines skipped)`,
    ]);
    expect(await count(`SELECT count(*) AS n FROM flows WHERE node_name = 'capture-node'`)).toBe(3);
    expect(await count(`SELECT count(*) AS n FROM l7_events WHERE node_name = 'capture-node'`)).toBe(3);
    const compact = await sextant(['observe', ...captureWindow, '--http-status', '5+']);
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
    const first = await sextant(['import', '-'], { stdin: text });
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
    const second = await sextant(['import', '-'], { stdin: `${text}\n${extra}\n` });
    expect(second.lines).toEqual([
      'imported 1 flows and 0 L7 events from stdin (2501 records in 3 batches, 2 already imported, 500 records already stored)',
    ]);
    expect(await count(`SELECT count(*) AS n FROM flows WHERE node_name = 'bulk-node'`)).toBe(2501);
  });

  it('rejects a file with a bad line, naming it, and stores nothing', async () => {
    const lines = (await readFile(CAPTURE, 'utf8')).split('\n');
    lines[5] = lines[5]?.replace('"10.1.0.2"', '"10.1.0.999"').replace('capture-node', 'bad-node') ?? '';
    const file = path.join(tmp, 'bad.jsonl');
    await writeFile(file, lines.map((l) => l.replaceAll('capture-node', 'bad-node')).join('\n'));
    const r = await sextant(['import', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^sextant: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line 6: flow\\.IP\\.destination: .* \\(nothing imported\\)\n$`),
    );
    expect(await count(`SELECT count(*) AS n FROM flows WHERE node_name = 'bad-node'`)).toBe(0);
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
    const admin = apiClient({ server: server.url, token: adminToken });
    await expect(admin.hubble.import.mutate({ lines: batch, firstLine: 101 })).rejects.toThrow(
      'line 104: flow.time: not an RFC 3339 time: "not a time"',
    );
    expect(await count(`SELECT count(*) AS n FROM flows WHERE node_name = 'server-check'`)).toBe(0);
    // Viewers may read but not import.
    const viewer = apiClient({ server: server.url, token: viewerToken });
    await expect(viewer.hubble.import.mutate({ lines: good })).rejects.toThrow(/admin role required/);
    const r = await sextant(['import', CAPTURE], { token: viewerToken });
    expect([r.code, r.stderr]).toEqual([1, `sextant: ${server.url} refused the request (403 Forbidden): admin role required\n`]);
  });

  it('exports through the API the same lines observe prints', async () => {
    const admin = apiClient({ server: server.url, token: adminToken });
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
    const s = await sextant(['status']);
    expect(s.stderr).toBe('');
    expect(s.lines.slice(0, 3)).toEqual([`Healthcheck (via ${server.url}): Ok`, 'Server version: 0.1.0', 'Collectors: 1/1 connected']);
    // Records the collector sent in the last minute (imports do not count): 9 at setup, 1 in the follow test.
    expect(s.lines[3]).toMatch(/^Flows\/s: \d+\.\d\d \(last 60 s\)$/);
    expect(Number(s.lines[3]?.split(' ')[1])).toBeGreaterThan(0);
    expect(Number(s.lines[3]?.split(' ')[1])).toBeLessThanOrEqual(0.17);
    expect(s.lines[4]).toBe('Lost events: 7');
    const l = await sextant(['list', 'collectors'], { token: viewerToken });
    expect(l.lines.map((x) => x.split(/ {3,}/))).toEqual([
      ['NAME', 'STATUS', 'LAST SEEN', 'EVENTS/S', 'LOST', 'HOST', 'VERSION'],
      ['hubble-import', 'Import', expect.stringMatching(/^\d+s ago$/), '-', '-', '-', '-'],
      ['node-a', 'Connected', expect.stringMatching(/^\d+s ago$/), '12.5', '7', 'host-a', '0.1.0'],
    ]);
  });

  it('creates a token with email and password, which then works until revoked', async () => {
    const r = await sextant(['token', 'create', '--email', 'viewer@example.com', '--name', 'laptop', '--password-stdin'], {
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
    expect((await sextant(['observe', '--node-name', 'node-a', '--verdict', 'DROPPED'], { token })).lines).toEqual(expected('F2'));
    const list = await sextant(['token', 'list'], { token });
    // The viewer's token from the setup, then the new one.
    const rows = list.lines.map((l) => l.split(/ {3,}/));
    expect(rows.map((r) => [r[1], r[2], r[5]])).toEqual([
      ['NAME', 'PREFIX', 'STATUS'],
      ['viewer-cli', `${viewerToken.slice(0, 10)}…`, 'active'],
      ['laptop', `${token.slice(0, 10)}…`, 'active'],
    ]);
    const tokenId = rows[2]?.[0] as string;
    expect((await sextant(['token', 'revoke', tokenId], { token })).lines).toEqual([`revoked ${tokenId}`]);
    const after = await sextant(['observe', '--verdict', 'DROPPED'], { token });
    expect([after.code, after.stdout, after.stderr]).toEqual([
      1,
      '',
      `sextant: ${server.url} refused the request (401 Unauthorized): the token is unknown or revoked\n`,
    ]);
    const wrong = await sextant(['token', 'create', '--email', 'viewer@example.com', '--password-stdin'], { token: null, stdin: 'nope\n' });
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
    for (const [args, message] of cases) {
      const r = await sextant(args);
      expect([args, r.code, r.stdout, r.stderr]).toEqual([args, 2, '', `sextant: ${message}\n(see sextant --help)\n`]);
    }
  });

  it('exits 1 with a message for an unreachable server or a refused token', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await sextant(['observe', '--last', '3'], { server: url });
    expect([down.code, down.stdout]).toEqual([1, '']);
    expect(down.stderr).toBe(`sextant: cannot reach the Sextant server at ${url} (ECONNREFUSED: connect ECONNREFUSED ${url.slice(7)})\n`);
    const status = await sextant(['status'], { server: url });
    expect([status.code, status.stderr]).toEqual([1, `sextant: cannot reach the Sextant server at ${url} (ECONNREFUSED)\n`]);
    const bad = await sextant(['list', 'collectors'], { token: 'sxu_not-a-real-token' });
    expect([bad.code, bad.stderr]).toEqual([
      1,
      `sextant: ${server.url} refused the request (401 Unauthorized): the token is unknown or revoked\n`,
    ]);
    const none = await sextant(['observe'], { token: null });
    expect([none.code, none.stderr]).toEqual([
      1,
      `sextant: ${server.url} refused the request (401 Unauthorized): no token given (--token or SEXTANT_TOKEN; create one with "sextant token create")\n`,
    ]);
    const missing = await sextant(['import', path.join(tmp, 'nope.jsonl')]);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      `sextant: cannot read ${path.join(tmp, 'nope.jsonl')}: ENOENT: no such file or directory, open '${path.join(tmp, 'nope.jsonl')}'\n`,
    ]);
  });
});
