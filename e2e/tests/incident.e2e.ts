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
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, ROOT, startStack, type Stack } from './stack';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const canRun = fs.existsSync(CHROMIUM) && process.getuid?.() === 0 && fs.existsSync('/sys/kernel/btf/vmlinux');
if (!canRun) console.warn('[skip] e2e needs /usr/bin/chromium, root and BTF (eBPF) for the real collector');

let stack: Stack;
let browser: Browser;
let target: ChildProcess;
let collector: ChildProcess;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-e2e-'));
const REQUESTS = 9;

beforeAll(async () => {
  if (!canRun) return;
  stack = await startStack();
  target = spawn(process.execPath, ['-e', `require('http').createServer((q, r) => { r.writeHead(q.url === '/fail' ? 503 : 200); r.end('x'); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => target.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  fs.writeFileSync(path.join(tmp, 'rules.json'), JSON.stringify([{ service: 'web-api', namespace: 'shop', match: { port } }]));
  collector = spawn(process.execPath, [path.join(ROOT, 'apps', 'collector', 'bin', 'sextant-collector.mjs')], {
    env: { ...process.env, SEXTANT_SERVER: stack.url, SEXTANT_TOKEN: stack.collectorToken, SEXTANT_RULES: path.join(tmp, 'rules.json'), SEXTANT_SPOOL_DIR: path.join(tmp, 'spool'), SEXTANT_FLUSH_INTERVAL_MS: '200' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => collector.stdout?.on('data', (d: Buffer) => d.toString().includes('observing') && resolve()));
  for (let i = 0; i < REQUESTS; i++) await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/${i % 3 === 0 ? 'fail' : 'ok'}`]);
  const deadline = Date.now() + 20_000;
  const q = `SELECT count(*) AS n FROM flows WHERE src_service = 'curl' AND dst_service = 'web-api'`;
  while (Date.now() < deadline && Number((await stack.db.pool.query(q)).rows[0].n) < REQUESTS) await new Promise((r) => setTimeout(r, 250));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

afterAll(async () => {
  await browser?.close();
  collector?.kill('SIGTERM');
  if (collector) await new Promise((r) => collector.on('exit', r));
  target?.kill();
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function signIn(email: string, password: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  await page.goto(`${stack.url}/map`);
  await page.waitForURL('**/login');
  await page.getByLabel('email').fill(email);
  await page.getByLabel('password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/map');
  return page;
}

describe.skipIf(!canRun)('incident path in Chromium', () => {
  it('map shows the edge with the exact count; clicking it lists those connections; export matches', async () => {
    const page = await signIn('admin@example.com', 'admin password 1');
    const row = page.locator('tr', { hasText: 'curl → shop/web-api' }).filter({ hasText: 'tcp' });
    await row.waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'map.png') });
    await expect(row.locator('td').nth(2).textContent()).resolves.toBe(String(REQUESTS));
    await row.click();
    await page.waitForURL('**/flows?**');
    await page.locator('tbody tr').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'flows.png') });
    expect(await page.locator('tbody tr').count()).toBe(REQUESTS);

    await page.getByLabel('hubble observe flags').fill('--to-service web-api --from-process curl --not --verdict DROPPED');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL('**q=**');
    await page.locator('tbody tr').first().waitFor();
    expect(await page.locator('tbody tr').count()).toBe(REQUESTS);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export JSON' }).click();
    const file = await (await download).path();
    const records = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { destination: { service: string }; source: { process: { name: string } } });
    expect(records).toHaveLength(REQUESTS);
    for (const r of records) expect(r).toMatchObject({ destination: { service: 'web-api' }, source: { process: { name: 'curl' } } });

    await page.goto(`${stack.url}/dashboards?range=1h`);
    await page.getByRole('img', { name: 'Requests / s' }).waitFor();
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
      const res = await fetch('/api/trpc/collectors.create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sneaky' }) });
      return res.status;
    });
    expect(status).toBe(403);
    await page.close();
  });
});
