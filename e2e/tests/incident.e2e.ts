/**
 * A platform engineer's path through the real stack: a real collector sees curl call a service, the map
 * shows the edge with the exact connection count, clicking it lists those connections, the hubble-style
 * filter finds them, the export parses and matches, and a viewer cannot reach admin actions.
 * Screenshots of every page land in e2e/test-results/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { encodeBatch, type FlowInput, type L7EventInput } from '@sextant/shared';
import { testServerUrl } from '@sextant/db/testing';
import { COLLECTOR_BIN, collectorLaunch } from '../../apps/collector/scripts/node-flags.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, collectorTestsCanRun, launchChromium, pushBatch, shopEndpoint as ep, type Stack, startStack } from './stack';

const run = promisify(execFile);
const canRun = collectorTestsCanRun();

let stack: Stack;
let browser: Browser;
let target: ChildProcess;
let collector: ChildProcess;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-e2e-'));
const REQUESTS = 9;
let targetPort = 0;

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack(testServerUrl());
  target = spawn(
    process.execPath,
    [
      '-e',
      `require('http').createServer((q, r) => { r.writeHead(q.url === '/fail' ? 503 : 200); r.end('x'); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => target.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  targetPort = port;
  fs.writeFileSync(path.join(tmp, 'rules.json'), JSON.stringify([{ service: 'web-api', namespace: 'shop', match: { port } }]));
  const launch = collectorLaunch(); // the flags and variables of the bin's first line, as npm start passes them
  collector = spawn(process.execPath, [...launch.flags, COLLECTOR_BIN], {
    env: {
      ...process.env,
      ...launch.env,
      SEXTANT_SERVER: stack.url,
      SEXTANT_TOKEN: stack.collectorToken,
      SEXTANT_RULES: path.join(tmp, 'rules.json'),
      SEXTANT_SPOOL_DIR: path.join(tmp, 'spool'),
      SEXTANT_FLUSH_INTERVAL_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => collector.stdout?.on('data', (d: Buffer) => d.toString().includes('observing') && resolve()));
  for (let i = 0; i < REQUESTS; i++)
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/${i % 3 === 0 ? 'fail' : 'ok'}`]);
  const deadline = Date.now() + 20_000;
  const q = `SELECT count(*) AS n FROM flows WHERE src_service = 'curl' AND dst_service = 'web-api'`;
  while (Date.now() < deadline && Number((await stack.db.pool.query(q)).rows[0].n) < REQUESTS) await new Promise((r) => setTimeout(r, 250));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  collector?.kill('SIGTERM');
  if (collector) await new Promise((r) => collector.on('exit', r));
  target?.kill();
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A chart's first drawn value: a line, or a dot for a lone step or the step in progress (gaps are not drawn). */
const drawn = (chart: Locator) => chart.locator('path[d^="M"], circle').first();

/** The flow table's data rows (virtualized: only rows in view are in the DOM; all fit here). */
const rows = (page: Page) => page.locator('[data-testid="flow-scroller"] [role="row"]');

async function signIn(email: string, password: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  await page.goto(`${stack.url}/map`);
  // The sign-in page carries where to return (next=/map) and goes there after signing in.
  await page.waitForURL('**/login?next=%2Fmap');
  await page.getByLabel('email').fill(email);
  await page.getByLabel('password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/map');
  return page;
}

describe.skipIf(!canRun)('incident path in Chromium', () => {
  it('map shows the edge with the exact count; clicking it lists those connections; export matches', async () => {
    const page = await signIn('admin@example.com', 'admin password 1');
    // One row per pair; curl opens one connection per request, so its requests (L7 captured) or else its
    // connections equal the curl count, never twice it.
    const row = page.locator('tr', { hasText: 'curl → shop/web-api' }).filter({ hasText: 'tcp' });
    await row.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'map.png') });
    await expect(row.locator('td').nth(2).textContent()).resolves.toMatch(new RegExp(`^${REQUESTS} (req|conn)$`));
    // The pair's panel lists every protocol on it; its tcp row links to the connections.
    await page.goto(`${stack.url}/map?edge=${encodeURIComponent('curl->shop/web-api')}`);
    const tcp = page.locator('tr[data-protocol="tcp"]');
    await tcp.waitFor({ timeout: 15_000 });
    await expect(tcp.locator('td').nth(1).textContent()).resolves.toBe(`${REQUESTS} connections`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'map-edge.png') });
    await tcp.getByRole('link', { name: 'flows →' }).click();
    await page.waitForURL('**/flows?**');
    await rows(page).first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'flows.png') });
    // The edge's L3/L4 records: one connection per request (a connection may be stored as an interim and a
    // final record; the table lists what the search returns, the ground truth is the flows table).
    const flowRows = (
      await stack.db.pool.query(`SELECT flow_id::text AS id FROM flows WHERE src_service = 'curl' AND dst_service = 'web-api'`)
    ).rows.map((r: { id: string }) => r.id);
    expect(new Set(flowRows).size).toBeGreaterThanOrEqual(REQUESTS);
    expect(await rows(page).count()).toBe(flowRows.length);
    expect((await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-id') as string))).sort()).toEqual(
      [...flowRows].sort(),
    );
    console.log(
      `[e2e] ${REQUESTS} curl requests: map edge ${REQUESTS}, ${flowRows.length} flow records (${new Set(flowRows).size} distinct ids)`,
    );

    await page.getByLabel('hubble observe flags').fill('--to-service web-api --from-process curl --not --verdict DROPPED');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL('**q=*from-process*');
    await rows(page).first().waitFor();
    // Ground truth: every record (flows and L7 exchanges) from curl to web-api that was not dropped.
    const expected = Number(
      (
        await stack.db.pool.query(
          `SELECT (SELECT count(*) FROM flows WHERE src_process = 'curl' AND dst_service = 'web-api' AND verdict <> 'DROPPED')
            + (SELECT count(*) FROM l7_events WHERE src_process = 'curl' AND dst_service = 'web-api') AS n`,
        )
      ).rows[0].n,
    );
    expect(expected).toBeGreaterThanOrEqual(REQUESTS);
    await expect.poll(() => rows(page).count()).toBe(expected);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export JSON' }).click();
    const file = await (await download).path();
    const records = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { destination: { service: string }; source: { process: { name: string } } });
    expect(records).toHaveLength(expected);
    for (const r of records) expect(r).toMatchObject({ destination: { service: 'web-api' }, source: { process: { name: 'curl' } } });

    await page.goto(`${stack.url}/dashboards?range=1h`);
    await drawn(page.getByRole('img', { name: 'Requests / s' })).waitFor({ state: 'attached' });
    await drawn(page.getByRole('img', { name: 'Latency' })).waitFor({ state: 'attached' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboards.png') });
    await page.goto(`${stack.url}/collectors`);
    await page.locator('td', { hasText: 'e2e-host' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'collectors-admin.png') });
    expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(1);
    await page.close();
  });

  it('a viewer sees collectors but no admin actions, and the API refuses them', async () => {
    const page = await signIn('viewer@example.com', 'viewer password 1');
    await page.goto(`${stack.url}/collectors`);
    await page.locator('td', { hasText: 'e2e-host' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'collectors-viewer.png') });
    expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'revoke' }).count()).toBe(0);
    const status = await page.evaluate(async () => {
      const res = await fetch('/api/trpc/collectors.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'sneaky' }),
      });
      return res.status;
    });
    expect(status).toBe(403);
    await page.close();
  });

  it('the live tail shows new requests within a few seconds, exactly those', async () => {
    const page = await signIn('admin@example.com', 'admin password 1');
    await page.goto(`${stack.url}/flows?q=${encodeURIComponent('--to-service web-api')}&live=1`);
    await page
      .getByText(/\(live\)|· live$/)
      .first()
      .waitFor({ timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const before = new Set(await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))));
    const mark = Date.now();
    for (let i = 0; i < 3; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${targetPort}/live-${i}`]);
    // Ground truth: every flow and L7 record towards web-api stored since the first curl (3 connections, plus
    // their HTTP exchanges when the collector's L7 capture sees them).
    const truth = async () =>
      (
        await stack.db.pool.query(
          `SELECT flow_id::text AS id FROM flows WHERE dst_service = 'web-api' AND time >= to_timestamp($1 / 1000.0) - interval '1 second'
         UNION ALL SELECT event_id::text FROM l7_events WHERE dst_service = 'web-api' AND time >= to_timestamp($1 / 1000.0) - interval '1 second'`,
          [mark],
        )
      ).rows
        .map((r: { id: string }) => r.id)
        .sort();
    const shown = async () =>
      (await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-id') as string))).filter((id) => !before.has(id)).sort();
    await expect.poll(async () => (await shown()).length, { timeout: 10_000, interval: 200 }).toBeGreaterThanOrEqual(3);
    const seenAfter = Date.now() - mark;
    await expect.poll(async () => JSON.stringify(await shown()), { timeout: 5_000, interval: 250 }).toBe(JSON.stringify(await truth()));
    const newFlows = (
      await stack.db.pool.query(
        `SELECT count(DISTINCT flow_id)::int AS n FROM flows WHERE dst_service = 'web-api' AND time >= to_timestamp($1 / 1000.0) - interval '1 second'`,
        [mark],
      )
    ).rows[0].n as number;
    expect(newFlows).toBeGreaterThanOrEqual(3);
    console.log(`[e2e] live tail: 3 curls → ${newFlows} flow records, ${(await truth()).length} records in all, all shown`);
    console.log(`[e2e] live tail: new requests visible ${seenAfter} ms after the first curl`);
    expect(seenAfter).toBeLessThan(8000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'flows-live.png') });
    await page.close();
  });

  it('a --http-status 5+ filter shows exactly the generated errors; the drawer shows the exchange; CSV export', async () => {
    // Known L7 HTTP exchanges, sent through the real ingest endpoint with the collector token.
    const now = Date.now();
    const flowId = crypto.randomUUID();
    const codes = [200, 503, 500, 404, 502, 200, 201];
    const l7 = codes.map((code, i) => ({
      id: crypto.randomUUID(),
      flowId,
      time: now - 60_000 + i * 1000,
      nodeName: 'e2e-seed',
      type: 'RESPONSE',
      protocol: 'http',
      latencyNs: 1_000_000 * (i + 1),
      source: ep('checkout', '10.9.0.1'),
      destination: ep('payments', '10.9.0.2', 8443),
      http: { method: 'POST', url: `http://payments.shop:8443/charge/${i}`, path: `/charge/${i}`, code, protocol: 'HTTP/1.1', headers: [] },
    }));
    const flow = {
      id: flowId,
      time: now - 61_000,
      endTime: now - 50_000,
      final: true,
      nodeName: 'e2e-seed',
      verdict: 'FORWARDED',
      l4Protocol: 'TCP',
      ipVersion: 4,
      source: ep('checkout', '10.9.0.1'),
      destination: ep('payments', '10.9.0.2', 8443),
      closeReason: 'CLOSED',
      bytesSent: 4000,
      bytesReceived: 9000,
      packetsSent: 12,
      packetsReceived: 14,
      retransmits: 1,
      srttUs: 250,
    };
    await pushBatch(
      stack,
      encodeBatch({ batchId: crypto.randomUUID(), sentAt: now, flows: [flow as FlowInput], l7: l7 as L7EventInput[] }),
    );
    const errors = l7
      .filter((e) => e.http.code >= 500)
      .map((e) => e.id)
      .sort();
    expect(errors).toHaveLength(3);

    const page = await signIn('admin@example.com', 'admin password 1');
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service payments --http-status 5+')}`);
    await rows(page).first().waitFor();
    await expect.poll(() => rows(page).count()).toBe(3);
    expect((await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).sort()).toEqual(errors);
    await page.screenshot({ path: path.join(ARTIFACTS, 'flows-5xx.png') });

    // The drawer: the clicked exchange, the connection's 7 exchanges, its TCP stats; Esc closes it and the URL follows.
    await rows(page).first().click();
    await page.waitForURL('**sel=**');
    const drawer = page.getByRole('dialog', { name: 'connection detail' });
    await drawer.getByTestId('exchange-detail').waitFor();
    await drawer.getByText('Exchanges on this connection (1–7 of 7)').waitFor();
    await drawer.getByText('TCP statistics').waitFor();
    expect(await drawer.locator('table.compact tbody tr').count()).toBe(7);
    await page.screenshot({ path: path.join(ARTIFACTS, 'flows-drawer.png') });
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    expect(page.url()).not.toContain('sel=');

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const csv = fs
      .readFileSync(await (await download).path(), 'utf8')
      .trim()
      .split('\n');
    expect(csv).toHaveLength(4);
    expect(
      csv
        .slice(1)
        .map((l) => l.split(',')[2])
        .sort(),
    ).toEqual(errors);

    // Keyboard: / focuses the filter; g m goes to the map.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('hubble observe flags');
    await page.keyboard.press('Escape');
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('g');
    await page.keyboard.press('m');
    await page.waitForURL('**/map**');
    await page.close();
  });

  it('map panels, grouping, dashboards brush, light theme: screenshots of every page', async () => {
    const page = await signIn('admin@example.com', 'admin password 1');
    await page.goto(`${stack.url}/map?group=namespace&node=${encodeURIComponent('shop/web-api')}`);
    await page.getByText('requests in / s').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'map-node.png') });
    await page.goto(`${stack.url}/dashboards?service=web-api&namespace=shop&range=1h`);
    const chart = page.getByRole('img', { name: 'Requests / s' });
    await drawn(chart).waitFor({ state: 'attached' });
    await page.getByRole('cell', { name: 'curl → shop/web-api' }).first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboards-service.png'), fullPage: true });
    const box = await chart.boundingBox();
    if (!box) throw new Error('no chart box');
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL('**since=**');
    const u = new URL(page.url());
    expect(Number(u.searchParams.get('until')) - Number(u.searchParams.get('since'))).toBeGreaterThan(60_000);
    expect(u.searchParams.get('range')).toBeNull();
    await page.goto(`${stack.url}/flows?q=${encodeURIComponent('--to-service web-api')}`);
    await rows(page).first().waitFor();
    // The page follows the system scheme (Playwright: light) until toggled; t toggles and the choice sticks.
    const scheme = await page.evaluate(() => (window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'));
    await page.keyboard.press('t');
    await page.waitForTimeout(200);
    const other = scheme === 'light' ? 'dark' : 'light';
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(other);
    await page.screenshot({ path: path.join(ARTIFACTS, `flows-${other}.png`) });
    await page.goto(`${stack.url}/map`);
    await page.getByRole('img', { name: 'service map' }).waitFor();
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(ARTIFACTS, `map-${other}.png`) });
    await page.keyboard.press('t');
    await page.goto(`${stack.url}/admin`);
    await page.getByRole('button', { name: 'Create token' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin.png') });
    await page.close();
  });

  it('a viewer cannot reach the admin page', async () => {
    const page = await signIn('viewer@example.com', 'viewer password 1');
    await page.goto(`${stack.url}/admin`);
    await page.getByText('Admin role required').waitFor();
    expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-viewer.png') });
    await page.close();
  });
});
