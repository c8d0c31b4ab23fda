/**
 * Test prerequisites (the kernel's eBPF, a real peer such as nginx or Prometheus, Chromium). On a
 * developer's machine a missing one skips the tests that need it, with the reason printed. In CI
 * (CI=true) it throws instead: a test that cannot run there is a failure, never a silent skip inside a
 * green summary.
 */
export function missingPrerequisite(ok: boolean, what: string): boolean {
  if (ok) return false;
  if (process.env.CI) throw new Error(`test prerequisite missing in CI: ${what}`);
  console.warn(`[skip] ${what}`);
  return true;
}
