/**
 * Wakes live-tail subscribers when a batch has been stored in this process, so new records show up without
 * waiting for the next poll. Subscribers still poll (other server processes may ingest too).
 */
type Listener = () => void;

const listeners = new Set<Listener>();

export const ingestSignal = {
  notify(): void {
    for (const l of listeners) l();
  },
  /** Resolves after the next notify() or after `ms`, whichever comes first; also on abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
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
