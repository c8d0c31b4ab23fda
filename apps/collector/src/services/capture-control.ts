/**
 * On-demand capture (docs/l7-line-rate.md, "On demand"): the server says until when every exchange should be
 * recorded (a live tail asked for it); the collector asks every couple of seconds over its usual connection and
 * hands the deadline to the kernel (record_all_until). A server that does not know the question (an older
 * one: NOT_FOUND) means no capture, quietly. While the server cannot be reached the last deadline stands: it
 * ends on its own.
 */
import { errorCode, type Transport } from './transport';

export class CaptureControl {
  /** Epoch ms (the server's clock) until which everything is recorded; null = none. */
  private until: number | null = null;
  private polling = false;
  private failures = 0;

  constructor(
    private readonly transport: Pick<Transport, 'control'>,
    /** Called when the deadline changes (null: capture off). */
    private readonly apply: (untilEpochMs: number | null) => void,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** The deadline in force, null when none or already passed. */
  deadline(now = Date.now()): number | null {
    return this.until !== null && this.until > now ? this.until : null;
  }

  /** One question to the server (a poll still waiting for its answer makes this one a no-op). */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { recordAllUntil } = await this.transport.control();
      this.failures = 0;
      this.set(recordAllUntil);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'NOT_FOUND' || code === 'HTTP_404') this.set(null);
      else if (this.failures++ % 30 === 0) this.log(`capture control: server not answering (${code}); the current deadline stands`);
    } finally {
      this.polling = false;
    }
  }

  private set(until: number | null): void {
    const next = until !== null && Number.isFinite(until) && until > Date.now() ? until : null;
    if (next === this.until) return;
    this.until = next;
    this.apply(next);
  }
}
