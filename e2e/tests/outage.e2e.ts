/**
 * The incident of issue #13 on the real stack: curl calls orders-api (node, named from its package.json),
 * whose /api/checkout calls payments-svc; payments-svc answers 500 to every 4th call (orders-api then
 * answers 502), then payments-svc is killed and orders-api's connects to it are refused. A real collector
 * ships to the real server; Chromium reads what a person reads: the failing endpoint and its error % on the
 * service dashboard, the dead dependency by name on the map with its refused connects in the panel of the
 * line clicked on the canvas, and the live tail delivering every new record. Ground truth is what curl got.
 * Screenshots land in e2e/test-results/outage-*.png.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ServiceMap } from '@sextant/db';
import type { Browser, Page, Response } from 'playwright-core';
import { testServerUrl } from '@sextant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeEnds, fitView, hitEdge, hitNode, layoutWith, type Positions } from '../../apps/web/src/client/map-layout';
import { toCanvasEdges, visibleGraph } from '../../apps/web/src/client/map-model';
import { ORDERS_JS, PAYMENTS_JS, startNamedService } from '../../apps/collector/src/testing/outage-services';
import { COLLECTOR_BIN, collectorLaunch } from '../../apps/collector/scripts/node-flags.mjs';
import { ARTIFACTS, collectorTestsCanRun, launchChromium, type Stack, startStack } from './stack';

const run = promisify(execFile);
const canRun = collectorTestsCanRun();

let stack: Stack;
let browser: Browser;
let collector: ChildProcess;
let payments: ChildProcess;
let orders: ChildProcess;
let ordersPort = 0;
let t0 = 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-outage-'));
/** Ground truth, from curl's status codes: requests and 5xx answers per path. */
const truth = { checkout: { requests: 0, errors: 0 }, items: { requests: 0, errors: 0 }, payments: { calls: 0, errors: 0 }, refused: 0 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How long the collector trusts what /proc said about a process (10 s by default): shortened, as the collector's
 * kernel tests of the same story do (outage-naming, failed-connects), so the wait past it after the kill is short.
 */
const PROCESS_CACHE_MS = 1_000;

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await sleep(500);
    v = await fn();
  }
  return v;
}

/** `node server.js` from a directory under tmp whose package.json names the service; resolves its listening port. */
const startService = (name: string, js: string, env?: Record<string, string>) => startNamedService(spawn, tmp, name, js, env);

/** One curl (a new connection) to orders-api; counts its answer into the ground truth. */
async function request(p: 'checkout' | 'items'): Promise<number> {
  const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${ordersPort}/api/${p}`]);
  const code = Number(stdout);
  truth[p].requests++;
  if (code >= 500) truth[p].errors++;
  return code;
}

/** Every third request is a healthy /api/items, the others /api/checkout. */
async function drive(n: number, paymentsUp: boolean): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (i % 3 === 2) {
      expect(await request('items')).toBe(200);
      continue;
    }
    const code = await request('checkout');
    if (paymentsUp) {
      truth.payments.calls++;
      if (code !== 200) truth.payments.errors++;
      expect(code).toBe(truth.payments.calls % 4 === 0 ? 502 : 200);
    } else {
      truth.refused++;
      expect(code).toBe(502);
    }
  }
}

const count = async (sql: string, args: unknown[] = []) => Number((await stack.db.pool.query(sql, args)).rows[0].n);

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack(testServerUrl());
  const launch = collectorLaunch(); // the flags and variables of the bin's first line, as npm start passes them
  collector = spawn(process.execPath, [...launch.flags, COLLECTOR_BIN], {
    env: {
      ...process.env,
      ...launch.env,
      SEXTANT_SERVER: stack.url,
      SEXTANT_TOKEN: stack.collectorToken,
      SEXTANT_SPOOL_DIR: path.join(tmp, 'spool'),
      SEXTANT_FLUSH_INTERVAL_MS: '200',
      SEXTANT_PROCESS_CACHE_MS: String(PROCESS_CACHE_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => collector.stdout?.on('data', (d: Buffer) => d.toString().includes('observing') && resolve()));
  t0 = Date.now();
  const [p, paymentsPort] = await startService('payments-svc', PAYMENTS_JS);
  payments = p;
  [orders, ordersPort] = await startService('orders-api', ORDERS_JS, { PAYMENTS_PORT: String(paymentsPort) });
  await drive(63, true); // 42 checkouts (payments fails 10 of them), 21 items
  // The incident: payments-svc dies. Past the collector's cache of /proc, only the listener history knows whose
  // port orders-api now fails to reach.
  payments.kill('SIGKILL');
  await new Promise((r) => payments.on('exit', r));
  await sleep(PROCESS_CACHE_MS + 1_000);
  await drive(13, false); // 9 checkouts refused at connect, 4 items
  console.log(`[outage] truth: ${JSON.stringify(truth)}`);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  collector?.kill('SIGTERM');
  if (collector) await new Promise((r) => collector.on('exit', r));
  orders?.kill('SIGKILL');
  payments?.kill('SIGKILL');
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function signIn(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${stack.url}/map`);
  await page.waitForURL('**/login?next=%2Fmap');
  await page.getByLabel('email').fill('admin@example.com');
  await page.getByLabel('password').fill('admin password 1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/map');
  return page;
}

const cells = async (page: Page, selector: string) =>
  (await page.locator(selector).first().locator('td').allTextContents()).map((s) => s.trim());
const pct = (errors: number, requests: number) => ((errors / requests) * 100).toFixed(1);

describe.skipIf(!canRun)('outage: a dependency that errors, then dies', () => {
  it("orders-api's dashboard names /api/checkout as failing, with its true error %", async () => {
    const { checkout, items } = truth;
    // Every exchange stored before reading the UI (bounded: a loaded box ships within seconds).
    await until(
      () => count(`SELECT count(*) AS n FROM l7_events WHERE dst_service = 'orders-api' AND http_path = '/api/checkout'`),
      (n) => n >= checkout.requests,
      'checkout exchanges',
    );
    await until(
      () => count(`SELECT count(*) AS n FROM l7_events WHERE dst_service = 'orders-api' AND http_path = '/api/items'`),
      (n) => n >= items.requests,
      'items exchanges',
    );
    const page = await signIn();
    await page.goto(`${stack.url}/dashboards?service=orders-api&range=1h`);
    const row = 'tr[data-endpoint="GET /api/checkout"]';
    await page.locator(row).waitFor({ timeout: 30_000 });
    // endpoint, proto, requests, req/s, err %, latency
    const c = await cells(page, row);
    const i = await cells(page, 'tr[data-endpoint="GET /api/items"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'outage-dashboard.png'), fullPage: true });
    console.log(
      `[outage] endpoints: checkout truth ${checkout.errors}/${checkout.requests} = ${pct(checkout.errors, checkout.requests)} %, UI ${JSON.stringify(c)}; items truth ${items.requests}, UI ${JSON.stringify(i)}`,
    );
    expect([c[0], c[1], c[2], c[4]]).toEqual([
      'GET /api/checkout',
      'http',
      String(checkout.requests),
      pct(checkout.errors, checkout.requests),
    ]);
    expect([i[0], i[2], i[4]]).toEqual(['GET /api/items', String(items.requests), '0.0']);
    // The busiest endpoint first: the failing one is the first row a person reads.
    expect(await page.locator('table.endpoints tbody tr').first().getAttribute('data-endpoint')).toBe('GET /api/checkout');
    // Its refused connects to the dead payments-svc, counted once each: as failed connects (TCP panel) and as
    // dropped packets (one SYN each, as the map counts them), not once more for the RST that refused them.
    const legends = await page.locator('.legend-item').allTextContents();
    expect(legends).toEqual(expect.arrayContaining([`● failed connects (${truth.refused})`, `● CONNECTION_REFUSED (${truth.refused})`]));
    await page.close();
  });

  // payments-svc is killed the moment its last call is answered, without waiting for the collector: its name is
  // read from /proc while it runs only because the collector receives records while traffic goes on (issue #13:
  // the ring buffer poller once held a steady trickle back until the ring was quiet, so this run reached the
  // collector after the kill and was named 'node'; apps/collector/src/outage-naming.kernel.test.ts).
  it('the map keeps payments-svc by name; clicking the line opens its panel with the refused connects', async () => {
    const refusedSql = `SELECT count(*) AS n FROM flows WHERE src_service = 'orders-api' AND close_reason = 'REFUSED'`;
    await until(
      () => count(refusedSql),
      (n) => n >= truth.refused,
      'refused connects',
    );
    const named = (
      await stack.db.pool.query(
        `SELECT dst_service, verdict, count(*)::int AS n FROM flows WHERE src_service = 'orders-api' AND close_reason = 'REFUSED' GROUP BY 1, 2`,
      )
    ).rows;
    expect(named).toEqual([{ dst_service: 'payments-svc', verdict: 'DROPPED', n: truth.refused }]);

    const page = await signIn();
    // A fixed window (the incident's), so the map's refreshes return the same data and nothing moves.
    const since = t0 - 60_000;
    const untilMs = Date.now();
    const maps: ServiceMap[] = [];
    page.on('response', (res: Response) => {
      const u = new URL(res.url());
      if (!u.pathname.startsWith('/api/trpc/') || !u.searchParams.get('input')?.includes(`"since":${since}`)) return;
      const procs = u.pathname.slice('/api/trpc/'.length).split(',');
      const at = procs.indexOf('servicemap.get');
      if (at >= 0)
        void res
          .json()
          .then((b: { result?: { data?: ServiceMap } }[]) => b[at]?.result?.data && maps.push(b[at].result.data))
          .catch(() => {});
    });
    await page.goto(`${stack.url}/map?since=${since}&until=${untilMs}`);
    const canvas = page.getByRole('img', { name: 'service map' });
    await canvas.waitFor();
    await until(
      async () => maps.length,
      (n) => n > 0,
      'the map data',
    );
    await sleep(1000); // the first frame after the fit
    // The dead service is a node of its own, by name (also in the keyboard list of the map's services).
    expect(await page.locator('button[data-node="payments-svc"]').count()).toBe(1);
    const data = maps[0] as ServiceMap;
    expect(data.nodes.map((n) => n.id)).toEqual(expect.arrayContaining(['orders-api', 'payments-svc', 'curl']));
    const edgeId = 'orders-api->payments-svc';
    expect(data.edges.map((e) => e.id)).toContain(edgeId);

    // Where the page drew it: the page's own layout of the data it received (layouts are deterministic and
    // seeded with the previous positions on refresh), fitted to the canvas box as the page does.
    let previous: Positions = new Map();
    let positions: Positions = new Map();
    let last = '';
    for (const m of maps) {
      if (JSON.stringify(m) === last) continue; // the query keeps equal data: no new layout
      last = JSON.stringify(m);
      const g = visibleGraph(m, false, '');
      positions = layoutWith(
        g.nodes.map((n) => n.id),
        g.edges.map((e) => ({ source: e.source, target: e.destination })),
        { previous },
      );
      previous = new Map([...previous, ...positions]);
    }
    const box = await canvas.boundingBox();
    if (!box) throw new Error('no canvas box');
    const first = visibleGraph(data, false, '');
    const view = fitView(
      layoutWith(
        first.nodes.map((n) => n.id),
        first.edges.map((e) => ({ source: e.source, target: e.destination })),
      ),
      box.width,
      box.height,
      50,
    );
    const screen = (p: { x: number; y: number }) => ({ x: box.x + p.x * view.k + view.x, y: box.y + p.y * view.k + view.y });
    const canvasEdges = toCanvasEdges(visibleGraph(maps[maps.length - 1] as ServiceMap, false, '').edges);
    const edge = canvasEdges.find((e) => e.id === edgeId);
    const a = positions.get('orders-api');
    const b = positions.get('payments-svc');
    if (!edge || !a || !b) throw new Error('edge not laid out');
    const [p, q] = edgeEnds(a, b, edge.shifted);
    // A point of the line that hits only this line (no node, no other edge), nearest the middle.
    const ts = [0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7];
    const onLine = ts
      .map((t) => ({ x: p.x + (q.x - p.x) * t, y: p.y + (q.y - p.y) * t }))
      .find((w) => !hitNode(positions, w, Math.max(10, 8 / view.k)) && hitEdge(canvasEdges, positions, w, 6 / view.k)?.id === edgeId);
    if (!onLine) throw new Error('no point of the line hits only the line');
    const at = screen(onLine);
    // Hovering shows what is under the mouse: the node's name on its circle, the line's tooltip on the line.
    await page.mouse.move(screen(b).x, screen(b).y);
    await expect.poll(() => page.locator('.map-tip').textContent(), { timeout: 5_000 }).toBe('payments-svc');
    await page.mouse.move(at.x, at.y);
    await expect.poll(() => page.locator('.map-tip').textContent(), { timeout: 5_000 }).toMatch(/^orders-api → payments-svc \(/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'outage-map-hover.png') });
    await page.mouse.click(at.x, at.y);
    await page.waitForURL(`**edge=${encodeURIComponent(edgeId)}**`);
    await page.getByRole('heading', { name: 'orders-api → payments-svc' }).waitFor();
    const http = await cells(page, 'tr[data-protocol="http"]');
    const tcp = await cells(page, 'tr[data-protocol="tcp"]');
    const drop = await cells(page, 'tr[data-protocol="drop"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'outage-map-edge.png') });
    console.log(
      `[outage] edge panel: http ${JSON.stringify(http)} tcp ${JSON.stringify(tcp)} drop ${JSON.stringify(drop)}; truth ${truth.payments.calls} calls, ${truth.payments.errors} 500s, ${truth.refused} refused`,
    );
    // Requests: every call payments-svc answered, its 500s the errors; connections: one per call; the
    // refused connects: one dropped record each.
    expect(http.slice(0, 2)).toEqual(['http', `${truth.payments.calls} requests`]);
    expect(http[3]).toBe(`${truth.payments.errors} errors (${pct(truth.payments.errors, truth.payments.calls)} %)`);
    expect(tcp.slice(0, 2)).toEqual(['tcp', `${truth.payments.calls} connections`]);
    expect(drop.slice(0, 2)).toEqual(['drop', `${truth.refused} dropped packets`]);
    await page.close();
  });

  it('the live tail delivers every new record towards orders-api, exactly those, at 20 requests/s', async () => {
    const page = await signIn();
    const idsSql = `SELECT flow_id::text AS id FROM flows WHERE dst_service = 'orders-api' UNION ALL SELECT event_id::text FROM l7_events WHERE dst_service = 'orders-api'`;
    const stored = async () => (await stack.db.pool.query(idsSql)).rows.map((r: { id: string }) => r.id);
    const before = new Set(await stored());
    await page.goto(`${stack.url}/flows?q=${encodeURIComponent('--to-service orders-api')}&live=1`);
    const footer = page.locator('.ffoot');
    // The tail replays the last 5 s: the last request to orders-api was longer ago, so it starts empty.
    await page.getByText('Waiting for new records matching this filter (live)…').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'outage-live-waiting.png') });
    const K = 100;
    const start = Date.now();
    const answers: Promise<number>[] = [];
    for (let i = 0; i < K; i++) {
      const wait = start + i * 50 - Date.now(); // 20 requests per second, each its own curl and connection
      if (wait > 0) await sleep(wait);
      answers.push(request('items'));
    }
    const launched = Date.now() - start;
    expect(await Promise.all(answers)).toEqual(Array(K).fill(200));
    const sent = Date.now();
    // Ground truth: the records stored for those K requests (each a connection and an HTTP exchange).
    const fresh = await until(
      async () => (await stored()).filter((id) => !before.has(id)),
      (ids) => ids.length >= 2 * K,
      'the new records stored',
    );
    await sleep(2000); // nothing more arrives
    const expected = (await stored()).filter((id) => !before.has(id)).sort();
    const l7 = await count(`SELECT count(*) AS n FROM l7_events WHERE dst_service = 'orders-api' AND event_id::text = ANY($1)`, [expected]);
    // Each request: its HTTP exchange, and its connection reported from both ends (curl's and orders-api's).
    const ends = (
      await stack.db.pool.query(
        `SELECT traffic_direction AS d, count(*)::int AS n FROM flows WHERE flow_id::text = ANY($1) GROUP BY 1 ORDER BY 1`,
        [expected],
      )
    ).rows;
    console.log(
      `[outage] live tail: ${K} requests launched in ${launched} ms → ${expected.length} records (${l7} exchanges, connection ends ${JSON.stringify(ends)}), ${fresh.length} seen first`,
    );
    expect(l7).toBe(K);
    expect(ends).toEqual([
      { d: 'EGRESS', n: K },
      { d: 'INGRESS', n: K },
    ]);
    await expect
      .poll(() => footer.textContent(), { timeout: 60_000, interval: 250 })
      .toBe(`${expected.length} records since the tail started · live`);
    console.log(`[outage] live tail: all ${expected.length} shown ${Date.now() - sent} ms after the last request`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'outage-live.png') });
    // The rows themselves (virtualized: scroll through and collect every row's record id).
    const shown = await page.locator('[data-testid="flow-scroller"]').evaluate(async (el) => {
      const ids = new Set<string>();
      for (let top = 0; top <= el.scrollHeight; top += el.clientHeight / 2) {
        el.scrollTop = top;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        el.querySelectorAll('[role="row"]').forEach((r) => ids.add(r.getAttribute('data-id') ?? ''));
      }
      return [...ids].sort();
    });
    expect(shown).toEqual(expected);
    await page.close();
  });
});
