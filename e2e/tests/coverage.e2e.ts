/**
 * Coverage transparency and on-demand capture in the browser, on the production build over real PostgreSQL:
 * a collector batch (through the public ingest endpoint) with kernel aggregates for 1,010 HTTP exchanges to
 * billing and 30 of them kept as records (the 10 errors, 20 sampled successes). The flows page says so in one
 * line, the drawer says why each record was kept, the map's service panel has the records line, and opening
 * the live tail makes collectors.control answer a capture deadline until it is closed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BatchEncoder, type L7EventInput } from '@sextant/shared';
import { missingPrerequisite } from '@sextant/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, signedInPage, startStack, VIEWER, type Stack } from './stack';

const CHROMIUM = '/usr/bin/chromium';
const canRun = !missingPrerequisite(fs.existsSync(CHROMIUM), 'e2e needs /usr/bin/chromium');

let stack: Stack;
let browser: Browser;
const now = Date.now();
const ep = (service: string, ip: string, port?: number) => ({ ip, service, namespace: 'shop', ...(port ? { port } : {}) });
const checkout = ep('checkout', '10.9.2.1', 41000);
const billing = ep('billing', '10.9.2.2', 8080);

const record = (i: number, code: number, sampling: 'error' | 'sampled') => ({
  id: crypto.randomUUID(),
  flowId: crypto.randomUUID(),
  time: now - 120_000 + i * 1000,
  nodeName: 'e2e-seed',
  type: 'RESPONSE',
  protocol: 'http',
  latencyNs: 2_000_000,
  source: checkout,
  destination: billing,
  http: { method: 'GET', url: `http://billing.shop:8080/pay/${i}`, path: `/pay/${i}`, code, protocol: 'HTTP/1.1', headers: [] },
  sampling,
});
const errors = Array.from({ length: 10 }, (_, i) => record(i, 503, 'error'));
const sampled = Array.from({ length: 20 }, (_, i) => record(100 + i, 200, 'sampled'));
const aggregate = (code: number, count: number) => ({
  time: now - 120_000,
  windowSeconds: 10,
  protocol: 'http' as const,
  reporter: 'client' as const,
  source: checkout,
  destination: billing,
  method: 'GET',
  code,
  count,
  latencySumNs: count * 2_000_000,
  idx: [],
  cnt: [],
});

async function control(): Promise<number | null> {
  const res = await fetch(`${stack.url}/api/trpc/collectors.control`, { headers: { authorization: `Bearer ${stack.collectorToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { data: { recordAllUntil: number | null } } }).result.data.recordAllUntil;
}

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack();
  const enc = new BatchEncoder('e2e-seed');
  const l7 = [...errors, ...sampled].map((e) => enc.l7(e as L7EventInput));
  const l7Aggregates = [aggregate(200, 1000), aggregate(503, 10)].map((a) => enc.l7Aggregate(a));
  const res = await fetch(`${stack.url}/api/trpc/ingest.push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.collectorToken}` },
    body: JSON.stringify({
      schemaVersion: 5,
      batchId: crypto.randomUUID(),
      sentAt: now,
      nodeName: 'e2e-seed',
      endpoints: enc.endpoints,
      flows: enc.rows,
      l7,
      l7Aggregates,
    }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const rows = (page: Page) => page.locator('[data-testid="flow-scroller"] [role="row"]');

const signedIn = () => signedInPage(browser, stack, VIEWER);

describe.skipIf(!canRun)('coverage transparency and on-demand capture', () => {
  it('the flows page says the records are a sample, and the drawer says why each was kept', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service billing --http-status 503')}`);
    await expect.poll(() => rows(page).count()).toBe(10);
    const notice = page.getByTestId('coverage-notice');
    await notice.waitFor();
    expect(await notice.textContent()).toBe(
      'HTTP: 1,010 exchanges, 30 kept as records (≈3.0 %) — every error and slow exchange, successes sampled. ' +
        'Counts and rates come from all exchanges. Live tail records everything while open.',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'coverage-notice.png') });
    await rows(page).first().click();
    const detail = page.getByTestId('exchange-detail');
    await detail.getByText('error — every error response is kept').waitFor();

    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service billing --http-status 200')}`);
    await expect.poll(() => rows(page).count()).toBe(20);
    await rows(page).first().click();
    await page.getByTestId('exchange-detail').getByText('sampled — successes are kept within a per-host record budget').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'coverage-drawer.png') });
    await page.close();
  });

  it('the map’s service panel states how many of its exchanges have records', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/map?range=15m&node=${encodeURIComponent('shop/billing')}`);
    const line = page.getByTestId('service-coverage');
    await line.waitFor();
    expect(await line.textContent()).toBe('HTTP records: 30 of 1,010 exchanges (≈3.0 %): 10 errors, 20 sampled');
    await page.close();
  });

  it('an open live tail makes collectors record everything until it is closed', async () => {
    expect(await control()).toBeNull();
    const page = await signedIn();
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service billing')}`);
    await page.getByRole('button', { name: '○ Live tail' }).click();
    await page
      .getByTestId('coverage-notice')
      .getByText(/^Live tail: collectors record every HTTP exchange/)
      .waitFor();
    await expect.poll(control, { timeout: 15_000 }).not.toBeNull();
    expect((await control()) as number).toBeGreaterThan(Date.now());
    await page.getByRole('button', { name: '● Live' }).click();
    await expect.poll(control, { timeout: 15_000 }).toBeNull();
    await page.close();
  });
});
