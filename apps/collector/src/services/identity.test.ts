import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { ENDPOINT_IDENTITY, encodeFlowRows } from '@sextant/shared';
import { IdentityResolver, untruncatedName } from './identity';
import { RuleSet } from './naming-rules';

describe('IdentityResolver', () => {
  it('names this very process from /proc and its cgroup from the cgroup v2 tree', () => {
    const r = new IdentityResolver({ nodeName: 'n1' });
    const facts = r.process(process.pid);
    expect(facts.name).toBe(fs.readFileSync('/proc/self/comm', 'utf8').trim());
    expect(facts.exe).toBe(fs.realpathSync(process.execPath));
    const e = r.localEndpoint({ ip: '127.0.0.1', port: 1234, pid: process.pid });
    expect(e.process?.pid).toBe(process.pid);
    expect(e.hostName).toBe('n1');
    if (r.cgroupRoot && facts.cgroupPath) {
      const ino = fs.statSync(path.join(r.cgroupRoot, facts.cgroupPath), { bigint: true }).ino.toString();
      expect(r.cgroupPath(ino)).toBe(facts.cgroupPath === '/' ? '/' : facts.cgroupPath);
    }
  });

  it("names a process whose socket's comm and cgroup are unknown as its own sockets were last named, while fresh", () => {
    const r = new IdentityResolver({ nodeName: 'n1', processTtlMs: 60_000 });
    const own = r.localIdentity({ port: 40_001, pid: process.pid, comm: 'node-main', cgroupId: '12345' });
    // a local client naming this process's listener by its pid alone: the same object, not a second identity
    expect(r.processIdentity(40_001, process.pid)).toBe(own);
    expect(r.localIdentity({ port: 40_001, pid: process.pid })).not.toBe(own);
    // pid 0 (no process known) is never taken for a process's last identity
    r.localIdentity({ port: 40_002, pid: 0, comm: 'kworker', cgroupId: '1' });
    expect(r.processIdentity(40_002, 0).process).toBeUndefined();
    // past its lifetime the process is read again
    const stale = new IdentityResolver({ nodeName: 'n1', processTtlMs: 0 });
    const first = stale.localIdentity({ port: 40_001, pid: process.pid, comm: 'node-main', cgroupId: '12345' });
    expect(stale.processIdentity(40_001, process.pid)).not.toBe(first);
  });

  it('reuses a process identity for each of its sockets, each endpoint with its own address', () => {
    const r = new IdentityResolver({ nodeName: 'n1' });
    const a = r.localEndpoint({ ip: '127.0.0.1', port: 40001, pid: process.pid, comm: 'node' });
    const b = r.localEndpoint({ ip: '::1', port: 40002, pid: process.pid, comm: 'node' });
    expect([a.ip, a.port, b.ip, b.port]).toEqual(['127.0.0.1', 40001, '::1', 40002]);
    expect(a).not.toBe(b);
    const { ip: _a, port: _ap, ...idA } = a;
    const { ip: _b, port: _bp, ...idB } = b;
    expect(idA).toEqual(idB);
    expect(Object.keys(a).slice(0, 2)).toEqual(['ip', 'port']);
    // One shared identity object, which a batch sends once for both; not part of the endpoint's JSON.
    const shared = (a as Record<symbol, unknown>)[ENDPOINT_IDENTITY];
    expect(shared).toBe((b as Record<symbol, unknown>)[ENDPOINT_IDENTITY]);
    expect(shared).toEqual(Object.fromEntries(Object.entries(idA)));
    expect(JSON.parse(JSON.stringify(a))).toEqual(Object.fromEntries(Object.entries(a)));
    const flow = {
      id: crypto.randomUUID(),
      time: 1,
      nodeName: 'n1',
      verdict: 'FORWARDED',
      l4Protocol: 'TCP',
      ipVersion: 4,
      source: a,
      destination: b,
    } as const;
    expect(encodeFlowRows([flow, { ...flow, source: b, destination: a }], 'n1').endpoints).toEqual([shared]);
  });

  it('completes a process name the kernel cut at 15 characters from the command line', async () => {
    // A real process that titles itself the way Next.js does: comm becomes "sextant-test-lo".
    const child = spawn(
      process.execPath,
      ['-e', "process.title = 'sextant-test-long-name (v16.0.1)'; console.log('ready'); setInterval(() => {}, 1000)"],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await new Promise((r) => child.stdout?.once('data', r));
      expect(fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()).toBe('sextant-test-lo');
      const r = new IdentityResolver({ nodeName: 'n1' });
      expect(r.process(child.pid ?? 0).name).toBe('sextant-test-long-name');
      expect(r.localEndpoint({ ip: '127.0.0.1', port: 1, pid: child.pid }).service).toBe('sextant-test-long-name');
    } finally {
      child.kill();
    }
    expect(untruncatedName('kube-controller', '/usr/local/bin/kube-controller-manager\0--leader-elect\0')).toBe('kube-controller-manager');
    expect(untruncatedName('systemd-journal', '/lib/systemd/systemd-journald\0')).toBe('systemd-journald');
    expect(untruncatedName('abcdefghijklmno', '/usr/bin/abcdefghijklmno\0')).toBe('abcdefghijklmno'); // really 15 long
    expect(untruncatedName('worker-process-', 'nginx: worker process\0')).toBe('worker-process-'); // argv[0] says otherwise
  });

  it('applies naming rules before any fallback', () => {
    const rules = new RuleSet([
      { service: 'by-port', match: { port: 8443 } },
      { service: 'node-app', namespace: 'apps', match: { process: '^node|MainThread$' } },
    ]);
    const r = new IdentityResolver({ nodeName: 'n1', rules });
    expect(r.localEndpoint({ ip: '127.0.0.1', port: 8443, pid: process.pid }).service).toBe('by-port');
    const e = r.localEndpoint({ ip: '127.0.0.1', port: 1, pid: process.pid });
    expect(e.service).toBe('node-app');
    expect(e.namespace).toBe('apps');
  });

  it('names Kubernetes pods from kubelet pod log directories', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pods-'));
    const uid = '3f1c2b8e-1d2a-4c5b-9e8f-0a1b2c3d4e5f';
    fs.mkdirSync(path.join(dir, `shop_payments-api-7d9f8b6c4d-x2k9p_${uid}`));
    const procRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-'));
    fs.mkdirSync(path.join(procRoot, '42'));
    fs.writeFileSync(path.join(procRoot, '42', 'comm'), 'java\n');
    fs.writeFileSync(path.join(procRoot, '42', 'cgroup'), `0::/kubepods/burstable/pod${uid}/${'b'.repeat(64)}\n`);
    const r = new IdentityResolver({ nodeName: 'n1', podLogDir: dir, procRoot, cgroupRoot: '/nonexistent' });
    const e = r.localEndpoint({ ip: '10.0.0.5', port: 8080, pid: 42 });
    expect(e).toMatchObject({
      service: 'payments-api',
      namespace: 'shop',
      podName: 'payments-api-7d9f8b6c4d-x2k9p',
      containerId: 'b'.repeat(64),
      workloads: [{ name: 'payments-api', kind: 'Deployment' }],
    });
  });

  it('names remote IPs from DNS answers until their TTL passes', () => {
    const r = new IdentityResolver({ nodeName: 'n1' });
    r.learnDns('api.example.com', ['93.184.216.34'], 300);
    expect(r.remoteEndpoint('93.184.216.34', 443).names).toEqual(['api.example.com']);
    const [x, y] = [r.remoteEndpoint('93.184.216.34', 443), r.remoteEndpoint('93.184.216.34', 8443)];
    expect((x as Record<symbol, unknown>)[ENDPOINT_IDENTITY]).toBe((y as Record<symbol, unknown>)[ENDPOINT_IDENTITY]);
    expect(r.remoteEndpoint('1.1.1.1', 443).names).toBeUndefined();
  });

  it('rejects a rules file with a bad regex, naming the rule', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rules-')), 'rules.json');
    fs.writeFileSync(f, JSON.stringify([{ service: 'x', match: { process: '(' } }]));
    expect(() => RuleSet.fromFile(f)).toThrow(/0\.match\.process: invalid regular expression/);
  });
});
