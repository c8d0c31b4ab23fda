/** Kernel (CLOCK_MONOTONIC) time to wall-clock time, and this host's own addresses. */
import os from 'node:os';

/** Converts CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) to epoch milliseconds. */
export class Clock {
  private offsetMs = 0;
  constructor() {
    this.calibrate();
  }
  calibrate(): void {
    this.offsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  }
  toEpochMs(monoNs: bigint): number {
    return Number(monoNs) / 1e6 + this.offsetMs;
  }
  /** The same for a time already converted to a number (exact below 2^53 ns: 104 days of uptime). */
  numberToEpochMs(monoNs: number): number {
    return monoNs / 1e6 + this.offsetMs;
  }
}

export function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}
