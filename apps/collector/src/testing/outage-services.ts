/**
 * The two services of the outage story (e2e/tests/outage.e2e.ts on the real stack, outage-naming.kernel.test.ts
 * on the kernel alone): payments-svc (every 4th charge answers 500) and orders-api (/api/items, and
 * /api/checkout calling payments-svc on a new connection each time: 502 when it fails or cannot be reached),
 * each a `node server.js` in a directory whose package.json names it, as a service is named on a real host.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export const PAYMENTS_JS = `const http = require('http'); let n = 0;
http.createServer((q, r) => { q.resume(); q.on('end', () => { n++; r.writeHead(n % 4 === 0 ? 500 : 200); r.end(n % 4 === 0 ? 'card processor error' : 'charged'); }); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

// A new connection per call to payments-svc (agent: false): one connection per checkout, as the map counts it.
export const ORDERS_JS = `const http = require('http'); const PAY = Number(process.env.PAYMENTS_PORT);
http.createServer((q, r) => {
  if (q.url === '/api/items') { r.writeHead(200, { 'content-type': 'application/json' }); return r.end('[{"id":1}]'); }
  if (q.url !== '/api/checkout') { r.writeHead(404); return r.end(); }
  const up = http.request({ host: '127.0.0.1', port: PAY, path: '/charge', method: 'POST', agent: false }, (p) => {
    p.resume(); p.on('end', () => { r.writeHead(p.statusCode === 200 ? 200 : 502); r.end(p.statusCode === 200 ? 'ok' : 'payments failed'); });
  });
  up.on('error', () => { r.writeHead(502); r.end('payments unreachable'); });
  up.end('{"amount":1}');
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

type Spawn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

/**
 * `node server.js` (source `js`) from `parent/name`, its package.json naming the service `name`, started with
 * `spawn` (the caller's, which may track the child); resolves the child and the port it printed.
 */
export async function startNamedService(
  spawn: Spawn,
  parent: string,
  name: string,
  js: string,
  env: Record<string, string> = {},
): Promise<[ChildProcess, number]> {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  fs.writeFileSync(path.join(dir, 'server.js'), js);
  const child = spawn(process.execPath, ['server.js'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return [child, port];
}
