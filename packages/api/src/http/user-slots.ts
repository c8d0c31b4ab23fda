/**
 * Per-user concurrency for the calls users make: at most `running` at once, at most `queued` more waiting
 * in line, anything beyond refused at once. 200 concurrent 24 h searches from one user used to run all at
 * once (p95 55 s, 0.16 s alone); now a few run, a few wait, and the rest get a clear answer right away.
 * A queue (not just a cap) because the UI batches a page's queries into one request.
 */
export class UserSlots {
  private readonly state = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(private readonly limits: () => { running: number; queued: number }) {}

  /** Resolves with a release function, or null when the user's line is full. */
  async acquire(user: string): Promise<(() => void) | null> {
    const { running, queued } = this.limits();
    let s = this.state.get(user);
    if (!s) this.state.set(user, (s = { running: 0, waiting: [] }));
    if (s.running >= running) {
      if (s.waiting.length >= queued) return null;
      await new Promise<void>((resolve) => s.waiting.push(resolve));
    } else s.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the next in line (running stays the same), else free it.
      const next = s.waiting.shift();
      if (next) next();
      else if (--s.running === 0) this.state.delete(user);
    };
  }

  inFlight(user: string): number {
    return this.state.get(user)?.running ?? 0;
  }
}
