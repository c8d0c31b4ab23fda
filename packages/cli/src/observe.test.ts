/**
 * `sextant observe` as a user runs it (a child process against the real API server and PostgreSQL, see
 * testing/cli-rig.ts): hubble's output forms, its filters over known ingested traffic, and --follow.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { encodeBatch, Flow, L7Event, toHubbleJson } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { apiClient } from './client';
import { ALL, api, base, expected, F1, F2, F3, F4, F5, flow, id, L1, L2, L3, L4, ts, web } from './testing/cli-fixtures';
import { BIN, cliRig } from './testing/cli-rig';

const rig = cliRig();

describe('sextant observe', () => {
  it('prints the last N records oldest first in hubble compact form', async () => {
    const r = await rig.sextant(['observe', '--last', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(expected('L3', 'L4', 'F4'));
    expect((await rig.sextant(['observe', '--node-name', 'node-a'])).lines).toEqual(expected(...ALL));
  });

  it('filters like hubble observe', async () => {
    const lines = async (...args: string[]) => {
      const r = await rig.sextant(['observe', '--node-name', 'node-a', ...args]);
      expect(r.stderr).toBe('');
      return r.lines;
    };
    const cases: [string[], ReturnType<typeof expected>][] = [
      [['--http-status', '5+'], expected('L2', 'L3')],
      [['--not', '--verdict', 'DROPPED'], expected(...ALL.filter((n) => n !== 'F2'))],
      [['--verdict', 'DROPPED'], expected('F2')],
      // Either side: source in shop on 8080, or destination in shop on 8080 — not payments → ledger:8080.
      [['--namespace', 'shop', '--port', '8080'], expected('F1', 'L1', 'L2', 'L3', 'F4')],
      [['--from-service', 'payments', '--protocol', 'http'], expected('L1', 'L2')],
      [['--http-method', 'POST'], expected('L2')],
      [['--http-path', '^/v1/'], expected('L1', 'L2')],
      [['--ip', '10.96.0.10'], expected('F3', 'L4')],
      [['--type', 'l7', '--last', '2'], expected('L3', 'L4')],
      [['--protocol', 'udp'], expected('F3', 'L4')],
      [['--since', new Date(base + 2500).toISOString(), '--until', new Date(base + 5500).toISOString()], expected('F3', 'F5', 'L1', 'L2')],
      [['--since', new Date(base).toISOString(), '--first', '2'], expected('F1', 'F2')],
    ];
    // All at once (each its own process, reading what the setup stored), compared with what each must print.
    const got = await Promise.all(cases.map(async ([args]) => [args, await lines(...args)]));
    expect(got).toEqual(cases.map(([args, want]) => [args, want]));
  });

  it('writes jsonpb lines equal to the ingested records in Hubble form, and json as the bare flow', async () => {
    const r = await rig.sextant(['observe', '--node-name', 'node-a', '-o', 'jsonpb']);
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
    const json = await rig.sextant(['observe', '--verdict', 'DROPPED', '-o', 'json']);
    expect(json.lines.map((l) => JSON.parse(l))).toEqual([toHubbleJson(Flow.parse(F2)).flow]);
  });

  it('prints dict and table forms', async () => {
    const dict = await rig.sextant(['observe', '--node-name', 'node-a', '--http-status', '5+', '-o', 'dict']);
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
    const table = await rig.sextant(['observe', '--verdict', 'DROPPED', '--verdict', 'FORWARDED', '--ip', '10.0.0.4', '-o', 'table']);
    expect(table.lines.map((l) => l.split(/ {3,}/))).toEqual([
      ['TIMESTAMP', 'SOURCE', 'DESTINATION', 'TYPE', 'VERDICT', 'SUMMARY'],
      [ts(F2.time), 'shop/web:50000', 'data/db:5432', 'Policy denied', 'DROPPED', 'TCP Flags: SYN'],
    ]);
  });

  it('follows new records', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', SEXTANT_SERVER: rig.server.url, SEXTANT_TOKEN: rig.adminToken };
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
      // Until it has read what is already stored (none of which must be printed) and polls for what is new: its
      // second flows.search request reaches the server only after the first one's answer was taken as seen.
      let searches = 0;
      const onRequest = (req: IncomingMessage) => void (req.url?.includes('flows.search') && searches++);
      rig.server.server.on('request', onRequest);
      const deadline = Date.now() + 20_000;
      while (searches < 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      rig.server.server.off('request', onRequest);
      expect(searches).toBeGreaterThanOrEqual(2);
      const late = flow({ time: Date.now(), l4Protocol: 'TCP', source: web(50100), destination: api, tcpFlags: ['SYN'] });
      await apiClient({ server: rig.server.url, token: rig.collectorToken }).ingest.push.mutate(
        encodeBatch({ batchId: id(), sentAt: Date.now(), flows: [late] }),
      );
      const shownBy = Date.now() + 20_000;
      while (!out.includes('10.0.0.3:50100') && Date.now() < shownBy) await new Promise((r) => setTimeout(r, 200));
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
