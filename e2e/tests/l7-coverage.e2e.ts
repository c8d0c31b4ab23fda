/**
 * L7 decode coverage per workload in the browser (issue 17), on the production build over real PostgreSQL: a
 * collector batch (through the public ingest endpoint) of connections with known decode classes — storefront
 * talks to catalog in cleartext (7) and over TLS decoded through Node (4), and to a TLS peer in a runtime Sextant
 * does not hook (3, not decoded). The Collectors page lists each workload with what was and was not decoded; the
 * map's service panel says it in one line; /api/metrics has the same counts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodeBatch, type FlowInput, type L7CoverageClass } from '@sextant/shared';
import { missingPrerequisite } from '@sextant/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, signedInPage, startStack, VIEWER, type Stack } from './stack';

const CHROMIUM = '/usr/bin/chromium';
const canRun = !missingPrerequisite(fs.existsSync(CHROMIUM), 'e2e needs /usr/bin/chromium');

let stack: Stack;
let browser: Browser;
const now = Date.now();
const ep = (service: string, ip: string, port?: number) => ({ ip, service, namespace: 'shop', ...(port ? { port } : {}) });
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

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack();
  const flows = [
    ...Array.from({ length: 7 }, (_, i) => conn(catalog, 'cleartext', i)),
    ...Array.from({ length: 4 }, (_, i) => conn(catalog, 'tls-node', 10 + i)),
    ...Array.from({ length: 3 }, (_, i) => conn(legacy, 'tls-undecoded', 20 + i)),
    ...Array.from({ length: 2 }, (_, i) => conn(legacy, undefined, 30 + i)), // no payload: no class
  ];
  const res = await fetch(`${stack.url}/api/trpc/ingest.push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.collectorToken}` },
    body: JSON.stringify(encodeBatch({ batchId: crypto.randomUUID(), nodeName: 'e2e-seed', flows })),
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

const signedIn = () => signedInPage(browser, stack, VIEWER);

const cells = (page: Page, workload: string) => page.locator(`[data-testid="workload-coverage"] tr[data-workload="${workload}"] td`);

describe.skipIf(!canRun)('L7 decode coverage per workload', () => {
  it('the Collectors page lists what was decoded and what was not, per workload', async () => {
    const page = await signedIn();
    await page.goto(`${stack.url}/collectors`);
    const table = page.getByTestId('workload-coverage');
    await table.locator('tr[data-workload="legacy-pay"]').waitFor();
    // workload, namespace, decoded, then one column per class: cleartext, tls-openssl, tls-node, tls-undecoded, http2, unrecognized
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
      'not recognized',
    ]);
    expect(await table.getByRole('columnheader', { name: 'TLS not decoded' }).getAttribute('title')).toBe('TLS (not decoded)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'collectors-decode-coverage.png') });
    // each connection says it in the drawer (newest first: the two without payload, then the TLS ones)
    await page.goto(`${stack.url}/flows?range=15m&q=${encodeURIComponent('--to-service legacy-pay')}`);
    const rows = page.locator('[data-testid="flow-scroller"] [role="row"]');
    await expect.poll(() => rows.count()).toBe(5);
    await rows.nth(2).click();
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
