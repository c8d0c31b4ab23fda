import { spawn } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../env';
import { localServerPort, parentPid, SelfMarker } from './self-marker';

describe('SelfMarker', () => {
  it('marks its own pid, listeners of Sextant ports and descendants of the given pids — real processes', async () => {
    // A grandchild of this process (sh → sleep), and this process as the root `npm start` would be.
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const grandchild = await new Promise<number>((resolve) =>
        sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
      );
      const own = new SelfMarker({ ownPid: 4_000_000 });
      expect(own.isSelf(4_000_000)).toBe(true);
      expect(own.isSelf(grandchild)).toBe(false);
      const rooted = new SelfMarker({ ownPid: 4_000_000, rootPids: [process.pid] });
      expect(rooted.isSelf(sh.pid ?? 0)).toBe(true);
      expect(rooted.isSelf(grandchild)).toBe(true);
      expect(rooted.isSelf(process.ppid)).toBe(false); // an ancestor is not a descendant
      expect(new SelfMarker({ ownPid: 4_000_000, rootPids: [1] }).isSelf(grandchild)).toBe(false); // pid 1 is never a root
      const byPort = new SelfMarker({ ownPid: 4_000_000, ports: [5432], listenerPid: (p) => (p === 5432 ? grandchild : undefined) });
      expect(byPort.isSelf(grandchild)).toBe(true);
      expect(byPort.isSelf(sh.pid ?? 0)).toBe(false);
    } finally {
      sh.kill('SIGKILL');
    }
  });

  it('reads the parent pid past a comm with spaces and parentheses', () => {
    expect(parentPid('1234 (next-server (v1) S 77 1234 1234 0 -1')).toBe(77);
    expect(parentPid('garbage')).toBeUndefined();
  });

  it("takes the server URL's port only when the server is on this host", () => {
    expect(localServerPort('http://127.0.0.1:3000')).toBe(3000);
    expect(localServerPort('http://localhost')).toBe(80);
    expect(localServerPort(`https://${os.hostname()}`)).toBe(443);
    expect(localServerPort('http://[::1]:8080')).toBe(8080);
    expect(localServerPort('https://sextant.example.com:3000')).toBeNull();
  });

  it('reads SEXTANT_SELF_PIDS and SEXTANT_SELF_PORTS', () => {
    const c = loadConfig([], {
      SEXTANT_SERVER: 'http://127.0.0.1:3000',
      SEXTANT_TOKEN: `sxc_${'a'.repeat(24)}`,
      SEXTANT_SELF_PIDS: '4242',
      SEXTANT_SELF_PORTS: '3000, 54320',
    });
    expect([c.selfPids, c.selfPorts]).toEqual([[4242], [3000, 54320]]);
  });
});
