/**
 * Holds an on-demand capture request open for as long as something needs it (a live tail): opens it, renews it
 * every `renewMs` on a timer of its own (independent of how long the holder's reads take), and closes it on
 * release. If this process dies, nothing renews it and it lapses `ttlMs` after the last renewal.
 */
import { CAPTURE_RENEW_MS, CAPTURE_TTL_MS, closeCaptureRequest, openCaptureRequest, renewCaptureRequest, type Pool } from '@sextant/db';

export interface CaptureTiming {
  ttlMs?: number;
  renewMs?: number;
}

export interface CaptureHold {
  /** The request's id (a new one if the first was gone when renewed). */
  readonly id: string;
  /** Stops renewing and closes the request; safe to call more than once. */
  release(): Promise<void>;
}

export async function holdCapture(
  pool: Pool,
  who: { userId: string; reason: string; filter: unknown },
  timing: CaptureTiming = {},
): Promise<CaptureHold> {
  const ttlMs = timing.ttlMs ?? CAPTURE_TTL_MS;
  const renewMs = timing.renewMs ?? CAPTURE_RENEW_MS;
  let id = (await openCaptureRequest(pool, { ...who, ttlMs })).id;
  let released = false;
  // Renewals run one after another, and release waits for the one in flight, so none lands after the close.
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      if (released) return;
      try {
        // Null: the request is gone or was closed by someone else. The holder still runs, so it gets a new one.
        if ((await renewCaptureRequest(pool, id, ttlMs)) === null) id = (await openCaptureRequest(pool, { ...who, ttlMs })).id;
      } catch (err) {
        // A failed renewal is retried at the next tick; the request lapses only if they all fail for ttlMs.
        console.error(`[capture] renewing capture request ${id} failed: ${(err as Error).message}`);
      }
    });
  }, renewMs);
  timer.unref?.();
  return {
    get id() {
      return id;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await renewing;
      // If this fails, the request lapses on its own at its expiry.
      await closeCaptureRequest(pool, id).catch((err: unknown) =>
        console.error(`[capture] closing capture request ${id} failed: ${(err as Error).message}`),
      );
    },
  };
}
