/** For tests on the real kernel: a bounded poll, since records reach the store a flush interval later. */

/** Polls `fn` until `ok` accepts its value or `ms` pass; returns the last value (the caller asserts it). */
export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    v = await fn();
  }
  return v;
}
