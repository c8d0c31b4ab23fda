/**
 * The cgroup of signals-mode aggregates on the real kernel when a client moves between cgroups on one keep-alive
 * connection: the fast path keeps the cgroup id it read in the socket's stash with the css_set and cgroup it was read
 * through (sx_l7_cgroup_id), so a move must show in the next exchange's key, exactly as bpf_get_current_cgroup_id says.
 * The client is a child process (moved by writing its pid to cgroup.procs); the server is this process (its loopback
 * server socket is not captured).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { kernelMissing } from './testing/kernel';
import { drainAll, forPort, onCleanup, sleep, start, stop } from './testing/l7-signals-rig';

const noKernel = kernelMissing();
const V2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => fs.existsSync(path.join(d, 'cgroup.procs')));
const V1 = '/sys/fs/cgroup/memory'; // a v1 hierarchy where there is one: a move there changes the css_set only
afterEach(stop);

// one keep-alive connection; "N\n" on stdin → N sequential GET /ok, then "done" on stdout
const CLIENT = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (i) => new Promise((ok, ko) => http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/ok/' + i, agent }, (r) => { r.resume(); r.on('end', ok); }).on('error', ko));
require('readline').createInterface({ input: process.stdin }).on('line', async (l) => {
  for (let i = 0; i < Number(l); i++) await get(i);
  console.log('done');
});`;

describe.skipIf(noKernel || !V2)('signals-mode aggregates: the cgroup of a client that moves', () => {
  it('keys each exchange by the cgroup its client was in when it ran, across moves on one connection', async () => {
    const { port } = await start('signals', 0);
    const child = spawn(process.execPath, ['-e', CLIENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout });
    const done: (() => void)[] = [];
    lines.on('line', () => done.shift()?.());
    const run = (n: number) => new Promise<void>((r) => (done.push(r), child.stdin.write(`${n}\n`)));
    const dir = path.join(V2!, `sx-cgtest-${process.pid}`);
    fs.mkdirSync(dir);
    const moveTo = (d: string) => fs.writeFileSync(path.join(d, 'cgroup.procs'), String(child.pid));
    const v1 = fs.existsSync(path.join(V1, 'cgroup.procs')) ? path.join(V1, `sx-cgtest-${process.pid}`) : undefined;
    if (v1) fs.mkdirSync(v1);
    onCleanup(() => {
      for (const d of [V2!, v1 && V1])
        try {
          if (d) moveTo(d); // out of the test's cgroups, so they can go
        } catch {
          /* the child has exited */
        }
      child.kill();
      for (const d of [dir, v1]) if (d) fs.rmdirSync(d);
    });
    const id = (d: string) => BigInt(fs.statSync(d).ino);
    const root = id(V2!);
    const moved = id(dir);

    await run(20); // root
    moveTo(dir);
    await run(30); // the new cgroup, same connection
    if (v1) moveTo(v1); // another css_set, the same default-hierarchy cgroup
    await run(7);
    moveTo(V2!);
    await run(11); // back to the root
    if (v1) moveTo(V1);

    const byCgroup = new Map<bigint, number>();
    for (let i = 0; i < 30; i++) {
      for (const a of forPort(await drainAll(), port)) byCgroup.set(a.cgroupId, (byCgroup.get(a.cgroupId) ?? 0) + a.count);
      if ([...byCgroup.values()].reduce((s, n) => s + n, 0) >= 68) break;
      await sleep(100);
    }
    expect(Object.fromEntries([...byCgroup].map(([k, n]) => [String(k), n]))).toEqual({
      [String(root)]: 31,
      [String(moved)]: 37,
    });
  });
});
