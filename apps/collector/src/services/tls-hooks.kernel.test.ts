/**
 * TlsHooks on the real kernel and the real /proc: which files get the TLS uprobes, once per file, what an excluded
 * file and a binary without OpenSSL's symbols report. (Decoding through them: packages/bpf tls.test.ts and the
 * collector's l7-tls kernel tests.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { preflight, SextantProbes } from '@sextant/bpf';
import { missingPrerequisite } from '@sextant/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_LIBSSL, TlsHooks } from './tls-hooks';

const pf = preflight();
const noKernel = missingPrerequisite(pf.ok, `eBPF kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);

let probes: SextantProbes;
let dir: string;
const children: ChildProcess[] = [];
const NODE = fs.realpathSync(process.execPath);

beforeAll(() => {
  if (noKernel) return;
  probes = SextantProbes.open({ updateIntervalMs: 0, selfPid: process.pid });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-tls-hooks-'));
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  probes?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `binary` (a copy named as given) until killed; resolves once /proc shows it running that file. */
async function runAs(binary: string, name: string, args: string[]): Promise<{ file: string; child: ChildProcess }> {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(binary, file);
  fs.chmodSync(file, 0o755);
  const child = spawn(file, args, { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    try {
      if (fs.readlinkSync(`/proc/${child.pid}/exe`) === file) return { file, child };
    } catch {
      // not exec'd yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${file} did not start`);
}

describe.skipIf(noKernel)('TLS hooks', () => {
  it('attaches the system libssl (pinned) and each node binary once; a binary without SSL_* symbols is a failure with its reason', async () => {
    const hooks = new TlsHooks(probes.tlsProbes());
    hooks.start();
    hooks.scan(); // a second pass attaches nothing twice
    // Debian's libssl: probed at its internal read/write functions (SSL_read/SSL_write would be single-stepped);
    // node's SSL_* begin with push %rbp: its symbols. No site is single-stepped.
    expect(hooks.files().map((f) => [f.path, f.source, f.pinned, f.internal, f.singleStepped])).toEqual([
      [SYSTEM_LIBSSL, 'openssl', true, ['read', 'write'], []],
      [NODE, 'node', false, [], []],
    ]);
    expect(hooks.stats.singleStepSites).toBe(0);
    // `sleep` copied as "node": a node-named executable without OpenSSL in it.
    const fake = await runAs('/bin/sleep', 'fake/node', ['30']);
    hooks.scan();
    hooks.scan();
    expect(hooks.stats).toMatchObject({ attachedFiles: 2, attachFailures: 1, excludedFiles: 0 });
    expect(hooks.stats.failures).toEqual([{ path: fake.file, reason: expect.stringMatching(/SSL_read.*ENOENT/) as unknown as string }]);
    hooks.stop();
    expect(hooks.files()).toEqual([]);
    const exited = new Promise((r) => fake.child.once('exit', r));
    fake.child.kill('SIGKILL');
    await exited;
  });

  it('a node binary in the exclude list is never attached; another copy is, and is detached when its process exits', async () => {
    const excluded = await runAs(NODE, 'excluded/node', ['-e', 'setTimeout(() => {}, 30000)']);
    const late = await runAs(NODE, 'late/node', ['-e', 'setTimeout(() => {}, 30000)']);
    const hooks = new TlsHooks(probes.tlsProbes(), { exclude: [excluded.file] });
    hooks.start();
    expect(hooks.attachedFiles().sort()).toEqual([SYSTEM_LIBSSL, NODE, late.file].sort());
    expect(hooks.stats).toMatchObject({ attachedFiles: 3, attachFailures: 0, excludedFiles: 1 });
    const exited = new Promise((r) => late.child.once('exit', r));
    late.child.kill('SIGKILL');
    await exited;
    hooks.scan();
    expect(hooks.attachedFiles().sort()).toEqual([SYSTEM_LIBSSL, NODE].sort());
    hooks.stop();
  });
});
