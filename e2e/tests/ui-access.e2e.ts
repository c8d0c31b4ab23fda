/**
 * One click to the answer, for everyone: sign-in returns to a deep link (and never leaves the origin), the
 * drawer opens on the exchange clicked with the connection's exchanges paged around it, a filter the page
 * does not apply says so instead of "0 rows", flow rows and map nodes work from the keyboard, chart hover
 * states its unit, admin invites a user, and at 390 × 844 the flow table keeps outcome, verdict and latency
 * with nothing overflowing. Data arrives through the real ingest endpoint; screenshots in e2e/test-results/.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BatchEncoder, type FlowInput, type L7EventInput } from '@sextant/shared';
import { testServerUrl } from '@sextant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  ARTIFACTS,
  browserTestsCanRun,
  launchChromium,
  pushBatch,
  shopEndpoint as ep,
  signedInPage,
  type Stack,
  startStack,
  submitSignIn,
} from './stack';

const canRun = browserTestsCanRun();

let stack: Stack;
let browser: Browser;
const now = Date.now();
const flowId = crypto.randomUUID();
const dnsFlowId = crypto.randomUUID();
// 40 exchanges on one keep-alive connection; #30 is the 502.
const l7 = Array.from({ length: 40 }, (_, i) => ({
  id: crypto.randomUUID(),
  flowId,
  time: now - 120_000 + i * 1000,
  nodeName: 'e2e-seed',
  type: 'RESPONSE',
  protocol: 'http',
  latencyNs: 2_000_000 + i * 1000,
  source: ep('checkout', '10.9.1.1'),
  destination: ep('billing', '10.9.1.2', 8080),
  http: {
    method: i === 30 ? 'POST' : 'GET',
    url: `http://billing.shop:8080/invoice/${i}`,
    path: `/invoice/${i}`,
    code: i === 30 ? 502 : 200,
    protocol: 'HTTP/1.1',
    headers: [
      { key: 'x-request-id', value: `req-${i}` },
      { key: 'Authorization', value: '[redacted]' },
    ],
    requestBytes: 512,
    responseBytes: 2048,
  },
}));
const clicked = l7[30] as (typeof l7)[number];
const nx = {
  id: crypto.randomUUID(),
  flowId: dnsFlowId,
  time: now - 90_000,
  nodeName: 'e2e-seed',
  type: 'RESPONSE',
  protocol: 'dns',
  latencyNs: 400_000,
  source: ep('checkout', '10.9.1.1'),
  destination: ep('coredns', '10.9.1.53', 53),
  dns: { query: 'ledger.shop.', qtypes: ['AAAA'], rcode: 3, ips: [], cnames: [], rrtypes: [], transport: 'udp' },
};
const conn = (id: string, dst: ReturnType<typeof ep>, l4: 'TCP' | 'UDP') => ({
  id,
  time: now - 121_000,
  endTime: now - 60_000,
  final: true,
  nodeName: 'e2e-seed',
  verdict: 'FORWARDED',
  l4Protocol: l4,
  ipVersion: 4,
  source: ep('checkout', '10.9.1.1'),
  destination: dst,
  closeReason: l4 === 'TCP' ? 'CLOSED' : 'NONE',
  bytesSent: 20_000,
  bytesReceived: 80_000,
  packetsSent: 40,
  packetsReceived: 44,
  retransmits: 0,
  srttUs: 120,
});

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack(testServerUrl());
  // A batch in the current wire schema (flows as rows, an endpoint table), as a collector sends it.
  const enc = new BatchEncoder('e2e-seed');
  for (const f of [conn(flowId, ep('billing', '10.9.1.2', 8080), 'TCP'), conn(dnsFlowId, ep('coredns', '10.9.1.53', 53), 'UDP')])
    enc.addFlow(f as FlowInput);
  const events = [...l7, nx].map((e) => enc.l7(e as L7EventInput));
  await pushBatch(stack, {
    schemaVersion: 5,
    batchId: crypto.randomUUID(),
    sentAt: now,
    nodeName: 'e2e-seed',
    endpoints: enc.endpoints,
    flows: enc.rows,
    l7: events,
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const rows = (page: Page) => page.locator('[data-testid="flow-scroller"] [role="row"]');

const signedIn = (viewport?: { width: number; height: number }) => signedInPage(browser, stack, ADMIN, viewport);

/** Nothing wider than the viewport: the page never scrolls sideways. */
const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

describe.skipIf(!canRun)('one click to the answer, keyboard and narrow screens', () => {
  it('sign-in returns to the deep link it interrupted, and only to this origin', async () => {
    const deep = `/flows?range=15m&q=${encodeURIComponent('--to-service billing --http-status 5+')}`;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${stack.url}${deep}`);
    await page.waitForURL('**/login?next=**');
    expect(new URL(page.url()).searchParams.get('next')).toBe(deep);
    await submitSignIn(page, ADMIN);
    await page.waitForURL((u) => u.pathname === '/flows');
    const u = new URL(page.url());
    expect(u.searchParams.get('q')).toBe('--to-service billing --http-status 5+');
    expect(u.searchParams.get('range')).toBe('15m');
    await expect.poll(() => rows(page).count()).toBe(1);
    await page.close();

    const evil = await browser.newPage();
    await evil.goto(`${stack.url}/login?next=${encodeURIComponent('//evil.example/x')}`);
    await submitSignIn(evil, ADMIN);
    await evil.waitForURL('**/map');
    expect(new URL(evil.url()).origin).toBe(stack.url);
    await evil.close();
  });

  it('the drawer opens from the keyboard on the exchange clicked, with the others paged around it', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service billing --http-status 5+')}`);
    await expect.poll(() => rows(page).count()).toBe(1);
    await rows(page).first().focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**ev=${clicked.id}**`);
    const drawer = page.getByRole('dialog', { name: 'connection detail' });
    const detail = drawer.getByTestId('exchange-detail');
    await detail.getByText('http://billing.shop:8080/invoice/30').waitFor();
    await detail.getByText('502 (5xx)').waitFor();
    await detail.getByText('req-30').waitFor();
    await detail.getByText('512 B / 2.0 KiB').waitFor();
    // Page of 25 around #30 of 40, clamped to the end: 16–40.
    await drawer.getByText('Exchanges on this connection (16–40 of 40)').waitFor();
    expect(await drawer.locator('tr[aria-selected="true"]').textContent()).toContain('POST /invoice/30 → 502');
    await page.screenshot({ path: path.join(ARTIFACTS, 'drawer-exchange.png') });
    await drawer.getByRole('button', { name: 'earlier exchanges' }).click();
    await drawer.getByText('Exchanges on this connection (1–25 of 40)').waitFor();
    // Another exchange of the connection opens from the list by keyboard.
    const row3 = drawer.locator('tr', { hasText: 'GET /invoice/3 → 200' });
    await row3.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**ev=${l7[3]?.id}**`);
    await detail.getByText('http://billing.shop:8080/invoice/3', { exact: true }).waitFor();

    // DNS by name, in the table and in the drawer.
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--dns-query ledger.shop')}`);
    await expect.poll(() => rows(page).count()).toBe(1);
    expect(await rows(page).first().textContent()).toContain('DNS ledger.shop. AAAA → NXDOMAIN');
    await rows(page).first().click();
    await page.getByTestId('exchange-detail').getByText('NXDOMAIN (3)').waitFor();
    await page.close();
  });

  it('a filter the page does not apply is refused with the reason, not answered with 0 rows', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service billing --since 5m')}`);
    await page
      .getByRole('alert')
      .getByText(/time comes from the range picker/)
      .waitFor();
    expect(await page.getByText(/end of results/).count()).toBe(0);
    expect(await rows(page).count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'flows-refused-filter.png') });
    await page.close();
  });

  it('map nodes open from the keyboard; chart hover states its unit; admin invites a user', async () => {
    const page = await signedIn();
    const list = page.getByRole('navigation', { name: 'services on the map (keyboard)' });
    await list.getByRole('button').first().waitFor({ state: 'attached' });
    await list.getByRole('button', { name: 'shop/billing' }).focus();
    await page.keyboard.press('ArrowDown');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-node'));
    expect(focused).toBe('shop/checkout');
    await page.keyboard.press('Enter');
    await page.waitForURL(`**node=${encodeURIComponent('shop/checkout')}**`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'map-keyboard.png') });

    await page.goto(`${stack.url}/dashboards?range=1h`);
    const chart = page.getByRole('img', { name: 'Requests / s' });
    await chart.locator('path[d^="M"], circle').first().waitFor({ state: 'attached' });
    const box = await chart.boundingBox();
    if (!box) throw new Error('no chart box');
    await page.mouse.move(box.x + box.width * 0.97, box.y + box.height / 2);
    const hover = page.locator('.chart-hover').first();
    await hover.waitFor();
    expect(await hover.textContent()).toMatch(/per second, averaged over each .* step/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboards-hover.png') });

    await page.goto(`${stack.url}/admin`);
    await page.getByLabel('new user email').fill('dana@example.com');
    await page.getByRole('button', { name: 'Invite' }).click();
    const password = (await page.getByRole('status').locator('pre').textContent())?.trim() ?? '';
    expect(password).toMatch(/^[\w-]{24}$/);
    await page.locator('td', { hasText: 'dana@example.com' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'admin-users.png'), fullPage: true });
    const dana = await browser.newPage();
    await dana.goto(`${stack.url}/login`);
    await submitSignIn(dana, { email: 'dana@example.com', password });
    await dana.waitForURL('**/map');
    await dana.close();

    await page.goto(`${stack.url}/collectors`);
    await page.getByRole('columnheader', { name: /unparsed/ }).waitFor();
    // Current state only: no range picker here (there is one on the flows page).
    expect(await page.getByLabel('time range').count()).toBe(0);
    await page.close();
  });

  it('at 390 × 844 the flow table keeps outcome, verdict and latency, and nothing overflows', async () => {
    const page = await signedIn({ width: 390, height: 844 });
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service billing')}`);
    await rows(page).first().waitFor();
    const first = rows(page).first();
    for (const c of ['.c-l7', '.c-verdict', '.c-lat']) {
      const b = await first.locator(c).boundingBox();
      expect(b, c).not.toBeNull();
      expect((b?.x ?? 0) + (b?.width ?? 0), c).toBeLessThanOrEqual(390);
      expect(b?.width ?? 0, c).toBeGreaterThan(40);
    }
    // Verdict and latency read in full, not cut to "FORWARD…".
    for (const c of ['.c-verdict', '.c-lat'])
      expect(await first.locator(c).evaluate((el) => el.scrollWidth - el.clientWidth), c).toBeLessThanOrEqual(0);
    expect(await first.locator('.c-src').isVisible()).toBe(false);
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'narrow-flows.png') });
    await first.click();
    await page.getByTestId('exchange-detail').waitFor();
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'narrow-drawer.png') });
    for (const p of ['map', 'dashboards?range=1h', 'collectors', 'admin']) {
      await page.goto(`${stack.url}/${p}`);
      await page.waitForLoadState('networkidle');
      expect(await overflow(page), p).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(ARTIFACTS, `narrow-${p.split('?')[0]}.png`) });
    }
    await page.close();
  });
});
