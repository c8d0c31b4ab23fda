/**
 * Sextant's own traffic on the real kernel (issue #13): a client of the Sextant server (curl, as a browser
 * would be) and the server's PostgreSQL connections are labelled sextant:self by the collector, and the map
 * and flow search leave them out unless includeSelf — read through the real API over HTTP. The API server runs
 * in this process (the collector's own pid, observed here with observeSelf), the test PostgreSQL on its port
 * (given as a self port, as `npm start` does).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AppRouter } from '@sextant/api';
import { createUser, login } from '@sextant/db';
import { testServerUrl } from '@sextant/db/testing';
import { SELF_LABEL } from '@sextant/shared';
import { createTRPCClient, httpLink } from '@trpc/client';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelRig } from './testing/kernel-rig';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('self-traffic');
let client: ReturnType<typeof createTRPCClient<AppRouter>>;

beforeAll(async () => {
  if (rig.skip) return;
  await createUser(rig.db.prisma, 'admin@example.com', 'correct horse battery staple', 'admin');
  const session = await login(rig.db.prisma, 'admin@example.com', 'correct horse battery staple');
  client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${rig.api.url}/api/trpc`, headers: { authorization: `Bearer ${session?.token}` } })],
  });
  // Observes this process too (the API server runs here), and the test PostgreSQL's port is Sextant's own.
  await rig.startCollector({
    observeSelf: true,
    selfPorts: [Number(new URL(testServerUrl()).port)],
    l7: false,
    udpFlows: false,
  });
});

async function curlTimes(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const child = execFile('curl', ['-s', '-o', '/dev/null', url]);
    await new Promise((r) => child.on('exit', r));
  }
}

describe.skipIf(rig.skip)("Sextant's own traffic", () => {
  it('is labelled sextant:self and hidden on the map and in flows unless includeSelf', async () => {
    // Somebody else's service, which stays visible.
    const script = path.join(rig.tmp, 'shop.js');
    fs.writeFileSync(
      script,
      `const s = require('http').createServer((q, r) => r.end('ok'));
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    );
    const shop = rig.spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const shopPort = await new Promise<number>((resolve) => shop.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const apiPort = Number(new URL(rig.api.url).port);
    const pgPort = Number(new URL(testServerUrl()).port);
    await curlTimes(`http://127.0.0.1:${shopPort}/`, 3);
    await curlTimes(`${rig.api.url}/api/health`, 3); // a browser of the Sextant server
    for (let i = 0; i < 2; i++) {
      // the server's own database connections (a pool's are long-lived: these open and close)
      const c = new pg.Client({ connectionString: rig.db.url });
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
    }
    const q = `SELECT dst_port, traffic_direction AS dir, src_service, dst_service, src_extra->'labels' AS src_labels, dst_extra->'labels' AS dst_labels
                 FROM flows WHERE dst_port = ANY($1::int[]) AND close_reason = 'CLOSED'`;
    type Row = {
      dst_port: number;
      dir: string;
      src_service: string;
      dst_service: string;
      src_labels: string[] | null;
      dst_labels: string[] | null;
    };
    const rows = await waitFor(
      async () => (await rig.db.pool.query<Row>(q, [[shopPort, apiPort, pgPort]])).rows,
      (r) =>
        r.filter((x) => x.dst_port === shopPort).length >= 6 &&
        r.filter((x) => x.dst_port === apiPort).length >= 3 &&
        r.filter((x) => x.dst_port === pgPort).length >= 4,
    );
    const at = (port: number) => rows.filter((r) => r.dst_port === port);

    // The collector's view: the Sextant server and PostgreSQL sides are Sextant's, with names of their own.
    for (const r of at(apiPort)) {
      expect(r.dst_labels).toEqual([SELF_LABEL]);
      expect(r.dst_service).toMatch(/^(sextant-|@sextant\/)/);
      expect(r.src_service).toBe('curl');
    }
    for (const r of at(pgPort)) {
      expect(r.src_labels).toEqual([SELF_LABEL]);
      expect(r.dst_labels).toEqual([SELF_LABEL]);
      expect(r.dst_service).toBe('sextant-postgres');
    }
    for (const r of at(shopPort)) {
      expect([r.src_labels, r.dst_labels, r.dst_service]).toEqual([null, null, 'shop']);
    }
    const selfServices = [
      ...new Set([...at(apiPort), ...at(pgPort)].flatMap((r) => [r.dst_service, ...(r.src_labels ? [r.src_service] : [])])),
    ];

    // Flow search, default: none of it; with includeSelf: all of it.
    const window = { since: Date.now() - 600_000, until: Date.now() + 60_000 };
    const ports = (res: Awaited<ReturnType<typeof client.flows.search.query>>) =>
      res.items.flatMap((it) => (it.kind === 'flow' ? [it.flow.destination.port] : []));
    const filter = { allow: [{ destinationPort: [String(shopPort), String(apiPort), String(pgPort)] }], deny: [] };
    const hidden = ports(await client.flows.search.query({ filter, window, limit: 1000 }));
    expect(new Set(hidden)).toEqual(new Set([shopPort]));
    const shown = ports(await client.flows.search.query({ filter, window, limit: 1000, includeSelf: true }));
    expect(new Set(shown)).toEqual(new Set([shopPort, apiPort, pgPort]));

    // The map, default: no Sextant node and no edge touching one; with includeSelf: curl → the server is there.
    const map = await client.servicemap.get.query({ window });
    expect(map.nodes.filter((n) => selfServices.includes(n.name))).toEqual([]);
    expect(map.edges.some((e) => e.source === 'curl' && e.destination === 'shop')).toBe(true);
    const all = await client.servicemap.get.query({ window, includeSelf: true });
    const serverName = at(apiPort)[0]?.dst_service;
    expect(all.edges.some((e) => e.source === 'curl' && e.destination === serverName)).toBe(true);
    expect(all.nodes.map((n) => n.name)).toContain('sextant-postgres');
  }, 60_000);
});
