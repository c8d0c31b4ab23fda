/**
 * Sign-in throttling, in memory (one server process): failed sign-ins per account and per client address,
 * each over a sliding window (successful ones do not count: scripts and the e2e suite sign in often). 400 wrong passwords at 43/s used to go through. A throttled
 * attempt is refused before any password work, with the seconds until the oldest counted attempt leaves the
 * window (Retry-After). Unknown emails count like real ones, so the answer says nothing about which exist.
 */
export interface ThrottleLimits {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

/** Keys kept per table; beyond it the least recently touched go first (random emails must not grow memory). */
const MAX_KEYS = 50_000;

class Window {
  private readonly hits = new Map<string, number[]>();

  /** Seconds until key may try again, 0 when it may now. */
  retryAfter(key: string, max: number, windowMs: number, now: number): number {
    const times = this.prune(key, windowMs, now);
    if (times.length < max) return 0;
    return Math.max(1, Math.ceil(((times[times.length - max] ?? now) + windowMs - now) / 1000));
  }

  add(key: string, max: number, windowMs: number, now: number): void {
    const times = this.prune(key, windowMs, now);
    times.push(now);
    // Older hits than the last `max` never decide anything: keep each entry small.
    if (times.length > max) times.splice(0, times.length - max);
    this.hits.delete(key);
    this.hits.set(key, times);
    if (this.hits.size > MAX_KEYS) this.hits.delete(this.hits.keys().next().value as string);
  }

  clear(key: string): void {
    this.hits.delete(key);
  }

  clearAll(): void {
    this.hits.clear();
  }

  dropNewest(key: string): void {
    this.hits.get(key)?.pop();
  }

  private prune(key: string, windowMs: number, now: number): number[] {
    const times = this.hits.get(key) ?? [];
    while ((times[0] ?? Infinity) <= now - windowMs) times.shift();
    return times;
  }
}

export class LoginThrottle {
  private readonly accounts = new Window();
  private readonly addresses = new Window();

  constructor(
    private readonly limits: () => ThrottleLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Retry-After seconds when the account or the address is throttled (refuse without checking the
   * password), else 0, with the attempt counted as a failure up front: concurrent guesses cannot all slip
   * in before the first one is known to have failed. succeeded() takes it back.
   */
  begin(account: string, address: string): number {
    const l = this.limits();
    const now = this.clock();
    const wait = Math.max(
      this.accounts.retryAfter(account, l.maxFailuresPerAccount, l.windowMs, now),
      this.addresses.retryAfter(address, l.maxFailuresPerAddress, l.windowMs, now),
    );
    if (wait > 0) return wait;
    this.accounts.add(account, l.maxFailuresPerAccount, l.windowMs, now);
    this.addresses.add(address, l.maxFailuresPerAddress, l.windowMs, now);
    return 0;
  }

  /** Forgets every count (tests, which share one process). */
  reset(): void {
    this.accounts.clearAll();
    this.addresses.clearAll();
  }

  /** A correct password: the account's failures are forgiven, the address's other failures stay. */
  succeeded(account: string, address: string): void {
    this.accounts.clear(account);
    this.addresses.dropNewest(address);
  }
}
