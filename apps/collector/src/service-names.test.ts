/**
 * Service names on the real kernel (issue #13, "Services are not process names"): real server processes of
 * each kind that can run here — two python3 scripts, a node server under a package.json, a node process that
 * rewrote its title, a process in a cgroup of its own, a transient systemd unit when systemd is PID 1 — served
 * to curl, observed by the collector, stored through the real API in PostgreSQL.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { serviceMap } from '@sextant/db';
import { missingPrerequisite } from '@sextant/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCgroup2Root } from './services/identity';
import { kernelRig } from './testing/kernel-rig';

const rig = kernelRig('service-names');
let hasPython = true;
try {
  execFileSync('python3', ['--version']);
} catch {
  hasPython = false;
}
const noPython = missingPrerequisite(hasPython, 'service-name kernel tests: python3 not installed');

const tmp = rig.tmp;
const children: ChildProcess[] = [];
const cgroupDirs: string[] = [];

/** A python3 HTTP server script that prints its port once listening. */
const PY_SERVER = `import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header('content-length', '2'); self.end_headers(); self.wfile.write(b'ok')
    def log_message(self, *a): pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`;
const NODE_SERVER = `const s = require('http').createServer((q, r) => r.end('ok'));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Starts a server process and resolves with the port it printed. */
async function serve(cmd: string, args: string[], cwd = tmp): Promise<number> {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)));
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
}

async function curlTimes(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const child = execFile('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
    await new Promise((r) => child.on('exit', r));
  }
}

/** The server names stored for a port, from the server's own records and curl's, once both are in. */
async function servedBy(port: number, n = 3): Promise<string[]> {
  await curlTimes(port, n);
  const q = `SELECT traffic_direction AS dir, dst_service FROM flows WHERE dst_port = $1 AND close_reason = 'CLOSED'`;
  const end = Date.now() + 15_000;
  let rows: { dir: string; dst_service: string }[] = [];
  while (Date.now() < end) {
    rows = (await rig.db.pool.query(q, [port])).rows;
    if (rows.filter((r) => r.dir === 'INGRESS').length >= n && rows.filter((r) => r.dir === 'EGRESS').length >= n) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return [...new Set(rows.map((r) => r.dst_service))];
}

beforeAll(async () => {
  if (rig.skip) return;
  await rig.startCollector();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  for (const d of cgroupDirs.reverse()) fs.rmdirSync(d); // empty once its processes exited (the rig stops the rest after)
});

describe.skipIf(rig.skip || noPython)('service names of real processes', () => {
  it('names two python3 servers after their scripts, not both "python3"', async () => {
    const app = await serve('python3', [write(path.join(tmp, 'x', 'app.py'), PY_SERVER)]);
    const worker = await serve('python3', [write(path.join(tmp, 'y', 'worker.py'), PY_SERVER)]);
    expect(await servedBy(app)).toEqual(['app']);
    expect(await servedBy(worker)).toEqual(['worker']);
    const map = await serviceMap(rig.db.pool, { since: Date.now() - 600_000, until: Date.now() + 60_000 });
    const into = (s: string) => map.edges.filter((e) => e.source === 'curl' && e.destination === s && e.protocol.includes('tcp'));
    expect(into('app')).toHaveLength(1);
    expect(into('worker')).toHaveLength(1);
    expect(map.nodes.find((n) => n.name === 'python3')).toBeUndefined();
  }, 60_000);

  it('names `node server.js` after the nearest package.json', async () => {
    const dir = path.join(tmp, 'orders');
    write(path.join(dir, 'package.json'), JSON.stringify({ name: 'orders-api', version: '1.0.0' }));
    write(path.join(dir, 'src', 'server.js'), NODE_SERVER);
    expect(await servedBy(await serve(process.execPath, ['src/server.js'], dir))).toEqual(['orders-api']);
  }, 60_000);

  it('does not name a process after the title it gave itself', async () => {
    const port = await serve(process.execPath, ['-e', `process.title = 'npm install prettier@3.6.2'; ${NODE_SERVER}`]);
    expect(await servedBy(port)).toEqual(['npm']);
  }, 60_000);

  it('names a process in a cgroup someone named after that cgroup', async () => {
    const root = findCgroup2Root();
    const group = root ? path.join(root, 'sextant-test', 'ledger') : '';
    try {
      if (root) fs.mkdirSync(group, { recursive: true });
    } catch (err) {
      // a skip with its reason, not a prerequisite failure: this host does not delegate cgroup v2 to us
      console.log(`skipped: cannot create a cgroup v2 directory here (${(err as Error).message})`);
      return;
    }
    if (!root) {
      console.log('skipped: no cgroup v2 hierarchy mounted here');
      return;
    }
    cgroupDirs.push(path.dirname(group), group);
    // The process joins the cgroup before its socket exists: an accepted socket carries its listener's cgroup.
    const script = write(path.join(tmp, 'z', 'app.py'), PY_SERVER);
    const port = await serve('sh', ['-c', `echo $$ > ${group}/cgroup.procs && exec python3 ${script}`]);
    expect(await servedBy(port)).toEqual(['ledger']);
  }, 60_000);

  it('names a transient systemd unit after the unit', async () => {
    const init = execFileSync('ps', ['-p', '1', '-o', 'comm=']).toString().trim();
    if (init !== 'systemd') {
      console.log(`skipped: PID 1 is ${init}, not systemd — no transient units here (systemd-run needs systemd as PID 1)`);
      return;
    }
    const unit = `sextant-names-${process.pid}`;
    const script = write(
      path.join(tmp, 'u', 'app.py'),
      PY_SERVER.replace('print(s.server_address[1], flush=True)', `open('${tmp}/u/port', 'w').write(str(s.server_address[1]))`),
    );
    execFileSync('systemd-run', [`--unit=${unit}`, 'python3', script]);
    try {
      const portFile = path.join(tmp, 'u', 'port');
      const end = Date.now() + 10_000;
      while (!fs.existsSync(portFile) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(await servedBy(Number(fs.readFileSync(portFile, 'utf8')))).toEqual([unit]);
    } finally {
      execFileSync('systemctl', ['stop', unit]);
    }
  }, 60_000);
});
