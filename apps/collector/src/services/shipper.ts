/**
 * Ships records to the server in batches: cut by size or time, each with a random batch id chosen once and
 * kept across retries (the server stores a batch id at most once, so a retry never duplicates). When the
 * server or its database is down, batches go to the bounded on-disk spool and are re-sent oldest first with
 * exponential backoff; when the server is slow, the in-memory queue is bounded and spills to the spool, so
 * the kernel reader is never blocked. Nothing here drops a batch: every one is sent or spooled whole, and the spool
 * sheds records before aggregates (spool.ts).
 */
import { randomUUID } from 'node:crypto';
import type { CollectorHealthReportInput, Flow, HistogramSample, L7AggregateInput, L7EventInput, PendingFlowRow } from '@sextant/shared';
import { BATCH_LIMITS } from '@sextant/shared';
import type { Spool } from './spool';
import { prepareBatch, type PreparedBatch } from './prepared-batch';
import { errorCode, errorReason, isRetriable, type Transport } from './transport';

export interface ShipperOptions {
  batchMaxRecords: number;
  /** This host's node name: batches carry it once instead of in every flow. */
  nodeName?: string;
  flushIntervalMs: number;
  /** Serialized batches held in memory (bytes of JSON) before spilling to the spool; default 32 MiB. */
  maxQueuedBytes?: number;
  /** Batches sent at the same time. */
  concurrency?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (msg: string) => void;
}

export interface ShipperStats {
  sentBatches: number;
  sentRecords: number;
  duplicateBatches: number;
  rejectedBatches: number;
  rejectedRecords: number;
  failedAttempts: number;
  queuedBatches: number;
  lastError: string | null;
}

export class Shipper {
  private flows: Flow[] = [];
  private flowRows: PendingFlowRow[] = [];
  private l7: L7EventInput[] = [];
  private histograms: HistogramSample[] = [];
  private aggregates: L7AggregateInput[] = [];
  private health: CollectorHealthReportInput | undefined;
  private queue: PreparedBatch[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private backoffMs = 0;
  readonly stats: ShipperStats = {
    sentBatches: 0,
    sentRecords: 0,
    duplicateBatches: 0,
    rejectedBatches: 0,
    rejectedRecords: 0,
    failedAttempts: 0,
    queuedBatches: 0,
    lastError: null,
  };

  constructor(
    private readonly transport: Transport,
    private readonly spool: Spool,
    private readonly opts: ShipperOptions,
  ) {}

  start(): void {
    this.running = true;
    this.timer = setInterval(() => this.cut(), this.opts.flushIntervalMs);
    this.loop = Promise.all(Array.from({ length: this.opts.concurrency ?? 3 }, () => this.sendLoop())).then(() => {});
  }

  addFlows(flows: readonly Flow[]): void {
    for (const f of flows) this.flows.push(f);
    this.cutIfFull();
  }

  /** Flows built as rows (FlowAssembler.tcpRows); the shipper takes them over. */
  addFlowRows(rows: readonly PendingFlowRow[]): void {
    for (const r of rows) this.flowRows.push(r);
    this.cutIfFull();
  }

  addL7(events: readonly L7EventInput[]): void {
    for (const e of events) this.l7.push(e);
    this.cutIfFull();
  }

  /**
   * Kernel HTTP aggregates (one drain window): they go out with the next batch, like every record, and take
   * the same way to the server (memory queue, spool); they are the only count of their exchanges.
   */
  addL7Aggregates(rows: readonly L7AggregateInput[]): void {
    for (const a of rows) this.aggregates.push(a);
    this.cutIfFull();
  }

  addHistograms(samples: readonly HistogramSample[]): void {
    for (const s of samples) this.histograms.push(s);
  }

  /** The health report rides on the next batch. */
  setHealth(report: CollectorHealthReportInput): void {
    this.health = report;
  }

  private cutIfFull(): void {
    if (this.flowRows.length + this.flows.length + this.l7.length + this.aggregates.length >= this.opts.batchMaxRecords) this.cut();
  }

  /** Closes the current buffer into a batch (if it holds anything). */
  cut(): void {
    if (
      !this.flowRows.length &&
      !this.flows.length &&
      !this.l7.length &&
      !this.aggregates.length &&
      !this.histograms.length &&
      !this.health
    )
      return;
    const max = this.opts.batchMaxRecords;
    // Split oversized buffers so no batch exceeds the server's limits.
    while (this.flowRows.length || this.flows.length || this.l7.length || this.aggregates.length || this.histograms.length || this.health) {
      const flowRows = this.flowRows.splice(0, max);
      const flows = this.flows.splice(0, max - flowRows.length);
      const l7 = this.l7.splice(0, Math.max(0, max - flowRows.length - flows.length));
      // Aggregates first in their own share of a batch (a few hundred keys per window): never starved by records.
      const l7Aggregates = this.aggregates.splice(0, Math.min(BATCH_LIMITS.maxL7Aggregates, max));
      const histograms = this.histograms.splice(0, 2_000);
      const health = this.health;
      this.health = undefined;
      // Serialized once, here: the same JSON is sent, spooled and re-sent (and the records' objects die young).
      const prepared = prepareBatch(
        { batchId: randomUUID(), sentAt: Date.now(), flowRows, flows, l7, l7Aggregates, histograms, health },
        { nodeName: this.opts.nodeName },
      );
      if (this.queue.length && this.queuedBytes + prepared.body.length > (this.opts.maxQueuedBytes ?? 32 << 20)) this.spool.put(prepared);
      else {
        this.queue.push(prepared);
        this.queuedBytes += prepared.body.length;
      }
    }
    this.stats.queuedBatches = this.queue.length;
    for (const w of [...this.dataWakers]) w();
  }

  // Sleeping senders: new data wakes the wakeable ones, stop() wakes all.
  private readonly dataWakers = new Set<() => void>();
  private readonly allWakers = new Set<() => void>();

  private async sleep(ms: number, wakeable: boolean): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.dataWakers.delete(done);
        this.allWakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.allWakers.add(done);
      if (wakeable) this.dataWakers.add(done);
    });
  }

  private async sendLoop(): Promise<void> {
    while (this.running) {
      if (this.backoffMs > 0) {
        // New data must not cut the backoff short while the server is failing.
        await this.sleep(this.backoffMs, false);
        if (!this.running) break;
      }
      const next = this.queue.shift();
      if (next) this.queuedBytes -= next.body.length;
      this.stats.queuedBatches = this.queue.length;
      if (next) {
        if (!(await this.send(next))) this.spool.put(next);
        continue;
      }
      // Memory is empty: drain older spooled batches (each held by one sender at a time).
      const spooled = this.spool.next();
      if (spooled) {
        if (await this.send(spooled.batch)) this.spool.remove(spooled.name);
        else this.spool.release(spooled.name);
        continue;
      }
      await this.sleep(this.opts.flushIntervalMs, true);
    }
  }

  /**
   * true when the batch is done with (stored, duplicate, or refused 4xx and kept in the dead-letter file);
   * false to retry later (network, 5xx: the server or its database is down).
   */
  private async send(batch: PreparedBatch): Promise<boolean> {
    const records = batch.records;
    try {
      const res = await this.transport.push(batch);
      if (res.stored) {
        this.stats.sentBatches++;
        this.stats.sentRecords += records;
      } else {
        this.stats.duplicateBatches++;
      }
      this.backoffMs = 0;
      return true;
    } catch (err) {
      this.stats.failedAttempts++;
      this.stats.lastError = errorCode(err);
      if (!isRetriable(err)) {
        // A batch the server refuses (4xx) will never be accepted as it is: set aside, counted, loudly, so
        // the batches after it flow (retrying it forever once blinded a host). The server said why.
        this.stats.rejectedBatches++;
        this.stats.rejectedRecords += records;
        this.spool.deadLetter(batch, errorReason(err));
        this.opts.log?.(
          `server refused batch ${batch.batchId} (${records} records), kept in ${this.spool.dir}/dead-letter.jsonl: ${errorReason(err)}`,
        );
        this.backoffMs = 0;
        return true;
      }
      const min = this.opts.minBackoffMs ?? 250;
      const max = this.opts.maxBackoffMs ?? 30_000;
      this.backoffMs = Math.min(max, this.backoffMs ? this.backoffMs * 2 : min) * (0.8 + Math.random() * 0.4);
      if (this.stats.failedAttempts % 10 === 1) this.opts.log?.(`server unavailable (${errorCode(err)}); spooling to ${this.spool.dir}`);
      return false;
    }
  }

  /** Flushes what is buffered and tries to deliver it for up to timeoutMs; the rest stays in the spool. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.cut();
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length || this.spool.stats().files) && Date.now() < deadline && this.backoffMs === 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.running = false;
    for (const w of [...this.allWakers]) w();
    await this.loop;
    for (const b of this.queue.splice(0)) this.spool.put(b);
    this.queuedBytes = 0;
  }

  /** Records accepted but not yet confirmed by the server (memory queue + buffers). */
  pendingRecords(): number {
    return (
      this.flowRows.length + this.flows.length + this.l7.length + this.aggregates.length + this.queue.reduce((a, b) => a + b.records, 0)
    );
  }
}
