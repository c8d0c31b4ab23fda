/**
 * Wakes live-tail subscribers when a batch has been stored in this process, so new records show up without
 * waiting for the next poll. Subscribers still poll (other server processes may ingest too).
 */
type Listener = () => void;

const listeners = new Set<Listener>();
let generation = 0;

export const ingestSignal = {
  /** Counts notifications: a subscriber reads it before a query and passes it to wait(), so a batch stored
   * while the query ran is not missed (it would otherwise wait a whole poll interval for the next one). */
  get generation(): number {
    return generation;
  },
  notify(): void {
    generation++;
    for (const l of listeners) l();
  },
  /** Resolves after the next notify() (at once if one came after `since`) or after `ms`; also on abort. */
  wait(ms: number, signal?: AbortSignal, since?: number): Promise<void> {
    if ((since !== undefined && since !== generation) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        listeners.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      listeners.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};
