/**
 * TlsHooks' attach retries (#17) on the real /proc and the real files: an attach that failed for a reason that may
 * pass (EAGAIN, EMFILE …) is tried again at later scans, after 1, 2, 4 and 8 scans, then never; a failure the same
 * file would fail with again (ENOENT: no SSL_* symbol) is not retried; the health report says how many files wait.
 * The attacher is the test's: the kernel never fails these ways on demand (the real attach, its failures and
 * reasons: tls-hooks.kernel.test.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BpfError, type TlsAttachment, type TlsSource } from '@sextant/bpf';
import { afterAll, describe, expect, it } from 'vitest';
import { SYSTEM_LIBSSL, tlsHealthDetails, TlsHooks, type TlsAttacher } from './tls-hooks';

const EAGAIN = os.constants.errno.EAGAIN;
const ENOENT = os.constants.errno.ENOENT;
const NODE = fs.realpathSync(process.execPath);
/** A /proc with no process in it: only the pinned system libssl is considered. */
const emptyProc = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-empty-proc-'));
afterAll(() => fs.rmSync(emptyProc, { recursive: true, force: true }));

/** Attaches `file` only once `failures` attempts at it failed with `errno`; any other file attaches. Records at which scan each attempt came. */
class FlakyAttacher implements TlsAttacher {
  readonly attempts: number[] = [];
  hooks?: TlsHooks;
  constructor(
    private readonly file: string,
    private failures: number,
    private readonly errno: number,
  ) {}
  attachFile(file: string, source: TlsSource): TlsAttachment {
    if (file === this.file) {
      this.attempts.push(this.hooks!.stats.scans);
      if (this.failures-- > 0) throw new BpfError(`attach uprobe SSL_read in ${file}`, this.errno);
    }
    return { path: file, source, links: [], internal: [], singleStepped: [] };
  }
  detach(): void {}
}

function hooksWith(attacher: FlakyAttacher, procRoot?: string): TlsHooks {
  const hooks = new TlsHooks(attacher, { procRoot });
  attacher.hooks = hooks;
  return hooks;
}
const scans = (hooks: TlsHooks, n: number) => {
  for (let i = 0; i < n; i++) hooks.scan();
};

describe.skipIf(!fs.existsSync(SYSTEM_LIBSSL))('TLS hooks: attach retries', () => {
  it('retries a failure that may pass at later scans (after 1, 2, 4, 8), then attaches; the health report says it waits', () => {
    const a = new FlakyAttacher(SYSTEM_LIBSSL, 2, EAGAIN);
    const hooks = hooksWith(a, emptyProc);
    hooks.start(); // attempt at scan 0 fails: again after 1 scan
    expect(hooks.stats).toMatchObject({ attachedFiles: 0, attachFailures: 1, attachRetrying: 1 });
    expect(tlsHealthDetails(hooks.stats, 0)).toMatchObject({ tlsAttachRetrying: 1, tlsAttachFailures: 1 });
    expect(hooks.stats.failures).toEqual([
      { path: SYSTEM_LIBSSL, reason: `attach uprobe SSL_read in ${SYSTEM_LIBSSL} failed: EAGAIN (errno ${EAGAIN})` },
    ]);
    scans(hooks, 2); // scan 1: fails again (again after 2 scans); scan 2: waits
    expect(a.attempts).toEqual([0, 1]);
    hooks.scan(); // scan 3: attached
    expect(a.attempts).toEqual([0, 1, 3]);
    expect(hooks.files().map((f) => [f.path, f.pinned])).toEqual([[SYSTEM_LIBSSL, true]]);
    expect(hooks.stats).toMatchObject({ attachedFiles: 1, attachFailures: 2, attachRetrying: 0 });
    expect(tlsHealthDetails(hooks.stats, 0)).toMatchObject({ tlsAttachRetrying: 0, tlsAttachedFiles: 1 });
  });

  it('gives up after the last retry; a failure the file would fail with again (ENOENT) is not retried', () => {
    const always = new FlakyAttacher(SYSTEM_LIBSSL, Infinity, EAGAIN);
    const hooks = hooksWith(always, emptyProc);
    hooks.start();
    scans(hooks, 30);
    expect(always.attempts).toEqual([0, 1, 3, 7, 15]);
    expect(hooks.stats).toMatchObject({ attachedFiles: 0, attachFailures: 5, attachRetrying: 0 });

    const missing = new FlakyAttacher(SYSTEM_LIBSSL, Infinity, ENOENT);
    const h2 = hooksWith(missing, emptyProc);
    h2.start();
    scans(h2, 5);
    expect(missing.attempts).toEqual([0]);
    expect(h2.stats).toMatchObject({ attachFailures: 1, attachRetrying: 0 });
  });

  it('a binary a running process maps (this node) is retried while it runs, as it is found by each scan', () => {
    const a = new FlakyAttacher(NODE, 1, EAGAIN);
    const hooks = hooksWith(a);
    hooks.start();
    expect(hooks.attachedFiles()).not.toContain(NODE);
    expect(hooks.stats.attachRetrying).toBe(1);
    hooks.scan();
    expect(a.attempts).toEqual([0, 1]);
    expect(hooks.attachedFiles()).toContain(NODE);
    expect(hooks.stats.attachRetrying).toBe(0);
  });
});
