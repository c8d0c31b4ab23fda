/**
 * Coverage transparency in the browser, on the production build over real PostgreSQL, with data sent as a
 * collector sends it (two batches through the public ingest endpoint), on one stack:
 * - HTTP records kept vs exchanges counted: kernel aggregates for 1,010 HTTP exchanges to billing and 30 of them
 *   kept as records (the 10 errors, 20 sampled successes). The flows page says so in one line, the drawer says
 *   why each record was kept, the map's service panel has the records line, and opening the live tail makes
 *   collectors.control answer a capture deadline until it is closed.
 * - L7 decode coverage per workload (issue 17): connections with known decode classes — storefront talks to
 *   catalog in cleartext (7) and over TLS decoded through Node (4), and to a TLS peer in a runtime Sextant does
 *   not hook (3, not decoded). The Collectors page lists each workload with what was and was not decoded; the
 *   map's service panel says it in one line; /api/metrics has the same counts.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BatchEncoder, encodeBatch, type FlowInput, type L7CoverageClass, type L7EventInput } from '@sextant/shared';
import { testServerUrl } from '@sextant/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  browserTestsCanRun,
  launchChromium,
  pushBatch,
  shopEndpoint as ep,
  signedInPage,
  type Stack,
  startStack,
  VIEWER,
} from './stack';

const canRun = browserTestsCanRun();

let stack: Stack;
let browser: Browser;
const now = Date.now();

// HTTP records kept vs exchanges counted: checkout → billing.
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

/** The records batch in the current wire schema (an endpoint table, L7 rows and kernel aggregates), as a collector sends it. */
function recordsBatch() {
  const enc = new BatchEncoder('e2e-seed');
  const l7 = [...errors, ...sampled].map((e) => enc.l7(e as L7EventInput));
  const l7Aggregates = [aggregate(200, 1000), aggregate(503, 10)].map((a) => enc.l7Aggregate(a));
  return {
    schemaVersion: 5,
    batchId: crypto.randomUUID(),
    sentAt: now,
    nodeName: 'e2e-seed',
    endpoints: enc.endpoints,
    flows: enc.rows,
    l7,
    l7Aggregates,
  };
}

// L7 decode coverage: storefront → catalog, storefront → legacy-pay.
const storefront = ep('storefront', '10.9.3.1');
const catalog = ep('catalog', '10.9.3.2', 8443);
const legacy = ep('legacy-pay', '10.9.3.3', 443);

const conn = (destination: typeof catalog, cls: L7CoverageClass | undefined, i: number): FlowInput => ({
  id: crypto.randomUUID(),
  time: now - 120_000 + i * 1000,
  nodeName: 'e2e-seed',
  verdict: 'FORWARDED',
  l4Protocol: 'TCP',
  ipVersion: 4,
  source: { ...storefront, port: 42000 + i },
  destination,
  trafficDirection: 'EGRESS',
  closeReason: 'CLOSED',
  bytesSent: 500,
  bytesReceived: 900,
  ...(cls ? { l7Coverage: cls } : {}),
});

function decodeCoverageBatch() {
  const flows = [
    ...Array.from({ length: 7 }, (_, i) => conn(catalog, 'cleartext', i)),
    ...Array.from({ length: 4 }, (_, i) => conn(catalog, 'tls-node', 10 + i)),
    ...Array.from({ length: 3 }, (_, i) => conn(legacy, 'tls-undecoded', 20 + i)),
    ...Array.from({ length: 2 }, (_, i) => conn(legacy, undefined, 30 + i)), // no payload: no class
  ];
  return encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'e2e-seed', flows });
}

async function control(): Promise<number | null> {
  const res = await fetch(`${stack.url}/api/trpc/collectors.control`, { headers: { authorization: `Bearer ${stack.collectorToken}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { data: { recordAllUntil: number | null } } }).result.data.recordAllUntil;
}

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack(testServerUrl());
  await pushBatch(stack, recordsBatch());
  await pushBatch(stack, decodeCoverageBatch());
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const rows = (page: Page) => page.locator('[data-testid="flow-scroller"] [role="row"]');

const signedIn = () => signedInPage(browser, stack, VIEWER);

const cells = (page: Page, workload: string) => page.locator(`[data-testid="workload-coverage"] tr[data-workload="${workload}"] td`);

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

describe.skipIf(!canRun)('L7 decode coverage per workload', () => {
  it('the Collectors page lists what was decoded and what was not, per workload', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/collectors`);
    const table = page.getByTestId('workload-coverage');
    await table.locator('tr[data-workload="legacy-pay"]').waitFor();
    // workload, namespace, decoded, then one column per class: cleartext, tls-openssl, tls-node, tls-undecoded, http2, http2 mid-stream, unrecognized
    expect(await cells(page, 'storefront').allTextContents()).toEqual([
      'storefront',
      'shop',
      'Decoded 11 of 14 connections',
      '7',
      '–',
      '4',
      '3',
      '–',
      '–',
      '–',
    ]);
    expect(await cells(page, 'legacy-pay').allTextContents()).toEqual([
      'legacy-pay',
      'shop',
      'Not decoded: 3 connections',
      '–',
      '–',
      '–',
      '3',
      '–',
      '–',
      '–',
    ]);
    expect(await cells(page, 'catalog').allTextContents()).toEqual([
      'catalog',
      'shop',
      'Decoded: all 11 connections',
      '7',
      '–',
      '4',
      '–',
      '–',
      '–',
      '–',
    ]);
    expect(await table.getByRole('columnheader').allTextContents()).toEqual([
      'workload',
      'namespace',
      'decoded',
      'cleartext',
      'TLS OpenSSL',
      'TLS Node',
      'TLS not decoded',
      'HTTP/2 not decodable',
      'HTTP/2 mid-stream',
      'not recognized',
    ]);
    expect(await table.getByRole('columnheader', { name: 'TLS not decoded' }).getAttribute('title')).toBe('TLS (not decoded)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'collectors-decode-coverage.png') });
    // each connection says it in the drawer (newest first: the two without payload, then the TLS ones)
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service legacy-pay')}`);
    await expect.poll(() => rows(page).count()).toBe(5);
    await rows(page).nth(2).click();
    await page.getByText('Connection (L4 record)').waitFor();
    expect(await page.locator('table.kv tr', { hasText: 'L7 decoding' }).textContent()).toBe('L7 decodingTLS (not decoded)');
    await page.close();
  });

  it('the map’s service panel says it in one line, and /api/metrics counts the same', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/map?range=15m&node=${encodeURIComponent('shop/legacy-pay')}`);
    const line = page.getByTestId('service-decode-coverage');
    await line.waitFor();
    expect(await line.textContent()).toBe('L7 decoding — Not decoded: 3 connections: TLS (not decoded): 3 connections');
    await page.goto(`${stack.url}/map?range=15m&node=${encodeURIComponent('shop/storefront')}`);
    await page.getByTestId('service-decode-coverage').getByText('Decoded 11 of 14 connections', { exact: false }).waitFor();
    expect(await page.getByTestId('service-decode-coverage').textContent()).toBe(
      'L7 decoding — Decoded 11 of 14 connections: Cleartext (decoded): 7 connections · TLS via Node (decoded): 4 connections · TLS (not decoded): 3 connections',
    );
    await page.close();
    const metrics = await (await fetch(`${stack.url}/api/metrics`)).text();
    const value = (labels: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith('sextant_l7_coverage_connections_total{') && labels.split(',').every((x) => l.includes(x)))
        .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(value('service="legacy-pay",class="tls-undecoded"')).toBe(3);
    expect(value('service="storefront",class="tls-node"')).toBe(4);
    expect(value('service="storefront"')).toBe(14);
  });
});
