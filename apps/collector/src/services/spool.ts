/**
 * The on-disk spool: batches the server could not take yet, one JSON file each, named so that a directory
 * listing is oldest-first. Bounded in bytes, so a long outage costs the oldest data, never the collector's memory
 * or the host's disk — and records before aggregates: when full, the oldest batches' records are shed first, each
 * batch kept with its aggregate parts under its batch id (spool-compact.ts); only when those alone exceed the
 * bound are the oldest of them dropped. Both counted. A batch a sender holds is left alone meanwhile.
 *
 * Beside it, the dead-letter file: batches the server refused (4xx: it can never accept them as they are),
 * one JSON line each with the server's reason, kept for a person to look at instead of being retried forever.
 * Bounded too: past `maxDeadLetterBytes` the file becomes dead-letter.1.jsonl (replacing the previous one).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IngestBatchInput } from '@sextant/shared';
import type { PreparedBatch } from './prepared-batch';
import { batchParts, compactBatch } from './spool-compact';

// <sequence>-n<records>-<batch id>.json, or -s<aggregates>- once its records are shed (aggregate parts only: known
// without reading it after a restart; not a hex digit, unlike a batch id's first); earlier versions lack the count.
const NAME = /^(\d+)-(?:([ns])(\d+)-)?(.+)\.json$/;

export const DEAD_LETTER_FILE = 'dead-letter.jsonl';

export interface SpoolStats {
  files: number;
  bytes: number;
  /** TCP connection flows and L7 records shed from spooled batches to make room, their batches kept with their aggregates. */
  shedRecords: number;
  /** Batches whose records were shed (those that held records only are gone). */
  shedBatches: number;
  /** Aggregate-only batches dropped whole (the bound was too small even for them), oldest first. */
  droppedBatches: number;
  /** What they held: kernel aggregates (L7 aggregate rows, UDP conversation and drop flows), the exchanges the L7 rows counted, histogram samples. */
  droppedAggregates: number;
  droppedExchanges: number;
  droppedHistograms: number;
  /** Batches (and their records) put in the dead-letter file since the collector started. */
  deadLetterBatches: number;
  deadLetterRecords: number;
}

export class Spool {
  private seq = 0;
  private bytes = 0;
  private files = 0;
  private shedRecords = 0;
  private shedBatches = 0;
  private droppedBatches = 0;
  private droppedAggregates = 0;
  private droppedExchanges = 0;
  private droppedHistograms = 0;
  private deadLetterBatches = 0;
  private deadLetterRecords = 0;
  /** Spooled file names, oldest first (kept in memory: listing the directory per send is too slow). */
  private names: string[] = [];
  /** Files that may still hold records, oldest first (a Set iterates in insertion order). */
  private readonly withRecords = new Set<string>();
  /** Files a sender holds (next() until remove() or release()): never rewritten or dropped meanwhile. */
  private readonly held = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly maxDeadLetterBytes = Math.min(16 << 20, Math.max(64 << 10, maxBytes >> 2)),
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.names = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    for (const f of this.names) {
      this.bytes += fs.statSync(path.join(dir, f)).size;
      this.files++;
      if (NAME.exec(f)?.[2] !== 's') this.withRecords.add(f);
    }
    const last = this.list().at(-1);
    this.seq = last ? Number(last.split('-')[0]) + 1 : 0;
    // Leftover temp files from a crash mid-write hold nothing acknowledged; drop them.
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
  }

  private list(): string[] {
    return this.names;
  }

  stats(): SpoolStats {
    return {
      files: this.files,
      bytes: this.bytes,
      shedRecords: this.shedRecords,
      shedBatches: this.shedBatches,
      droppedBatches: this.droppedBatches,
      droppedAggregates: this.droppedAggregates,
      droppedExchanges: this.droppedExchanges,
      droppedHistograms: this.droppedHistograms,
      deadLetterBatches: this.deadLetterBatches,
      deadLetterRecords: this.deadLetterRecords,
    };
  }

  /**
   * Appends a refused batch to the dead-letter file: `{"at", "batchId", "records", "reason", "batch"}` per
   * line, `batch` being the body as it was sent. Never throws: a full disk must not stop shipping.
   */
  deadLetter(batch: PreparedBatch, reason: string): void {
    this.deadLetterBatches++;
    this.deadLetterRecords += batch.records;
    const head = JSON.stringify({
      at: new Date().toISOString(),
      batchId: batch.batchId,
      records: batch.records,
      reason: reason.slice(0, 2000),
    });
    // The body is JSON already (it was sent as such): spliced in as is, not parsed again.
    const line = Buffer.concat([Buffer.from(`${head.slice(0, -1)},"batch":`), batch.body, Buffer.from('}\n')]);
    const file = path.join(this.dir, DEAD_LETTER_FILE);
    try {
      let size = 0;
      try {
        size = fs.statSync(file).size;
      } catch {
        // no file yet
      }
      if (size > 0 && size + line.length > this.maxDeadLetterBytes) fs.renameSync(file, path.join(this.dir, 'dead-letter.1.jsonl'));
      // A single batch larger than the bound is kept alone (the bound is per file, two files at most).
      fs.appendFileSync(file, line, { mode: 0o600 });
    } catch {
      // Counted above; the file is a convenience for people, the count is what health reports.
    }
  }

  /** Writes a batch durably (temp file + rename), then makes room (trim) if the spool is over its bound. */
  put(batch: PreparedBatch): void {
    const body = batch.body;
    const name = `${String(this.seq++).padStart(12, '0')}-n${batch.records}-${batch.batchId}.json`;
    const tmp = path.join(this.dir, `${name}.tmp`);
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, path.join(this.dir, name));
    this.names.push(name);
    this.withRecords.add(name);
    this.bytes += body.length;
    this.files++;
    this.trim();
  }

  /**
   * Beyond the bound: sheds the records of the oldest batches first (the newest included, if need be), then
   * drops the oldest aggregate-only batches, never the newest one. Held batches are skipped (the bound may be
   * passed by those in flight).
   */
  private trim(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const name of [...this.withRecords]) {
      if (this.bytes <= this.maxBytes) return;
      if (!this.held.has(name)) this.compact(name);
    }
    for (let i = 0; i < this.names.length - 1 && this.bytes > this.maxBytes;) {
      const name = this.names[i]!;
      if (this.held.has(name)) i++;
      else this.drop(name); // (out of names: the next one is at i)
    }
  }

  /**
   * Rewrites a batch without its records, under its sequence number and batch id, named compacted (or removes a
   * records-only one). One without records already is only renamed so (put by the shipper so, or of an earlier run).
   */
  private compact(name: string): void {
    this.withRecords.delete(name);
    const file = path.join(this.dir, name);
    let c;
    try {
      c = compactBatch(fs.readFileSync(file));
    } catch {
      return this.remove(name); // unreadable: it would never be sent either
    }
    const m = NAME.exec(name);
    const compacted = m ? `${m[1]}-s${c.aggregates}-${m[4]}.json` : name;
    const rename = () => {
      if (compacted === name) return;
      fs.renameSync(file, path.join(this.dir, compacted));
      this.names[this.names.indexOf(name)] = compacted;
    };
    if (c.records === 0) {
      try {
        rename();
      } catch {
        // read again after a restart, no more
      }
      return;
    }
    this.shedBatches++;
    this.shedRecords += c.records;
    if (!c.body) return this.remove(name);
    // Atomic at each step: the file holds the whole batch or the compacted one, under the old name or the new.
    try {
      const before = fs.statSync(file).size;
      fs.writeFileSync(`${file}.tmp`, c.body);
      fs.renameSync(`${file}.tmp`, file);
      this.bytes += c.body.length - before;
      rename();
    } catch {
      // (a full disk): what cannot be kept smaller goes whole, counted
      fs.rmSync(`${file}.tmp`, { force: true });
      this.drop(name);
    }
  }

  /** Drops an aggregate-only batch whole, counting what it held. */
  private drop(name: string): void {
    try {
      const p = batchParts(fs.readFileSync(path.join(this.dir, name)));
      this.droppedAggregates += p.aggregates;
      this.droppedExchanges += p.exchanges;
      this.droppedHistograms += p.histograms;
    } catch {
      // unreadable: nothing to count
    }
    this.droppedBatches++;
    this.remove(name);
  }

  /** The oldest spooled batch not in `skip`, or null (for a look: next() is for sending). */
  peek(skip: ReadonlySet<string> = this.held): { name: string; batch: PreparedBatch } | null {
    for (const name of [...this.list()]) {
      if (skip.has(name)) continue;
      const batch = this.read(name);
      if (batch) return { name, batch };
      this.remove(name); // unreadable (truncated by a crash before rename cannot happen; disk errors can)
    }
    return null;
  }

  /** The oldest batch no sender holds, now held until remove() (delivered) or release() (to retry). */
  next(): { name: string; batch: PreparedBatch } | null {
    const next = this.peek();
    if (next) this.held.add(next.name);
    return next;
  }

  /** Back to the spool (to retry), which then keeps its bound if it was passed meanwhile. */
  release(name: string): void {
    this.held.delete(name);
    this.trim();
  }

  remove(name: string): void {
    const p = path.join(this.dir, name);
    const i = this.names.indexOf(name);
    if (i >= 0) this.names.splice(i, 1);
    this.withRecords.delete(name);
    this.held.delete(name);
    try {
      const size = fs.statSync(p).size;
      fs.rmSync(p);
      this.bytes -= size;
      this.files--;
    } catch {
      // already gone
    }
  }

  /** The file as it is on disk: its bytes are sent as they are, never parsed here (but for a file of an earlier version). */
  private read(name: string): PreparedBatch | null {
    const m = NAME.exec(name);
    if (!m) return null;
    try {
      const body = fs.readFileSync(path.join(this.dir, name));
      let records = m[3] === undefined ? undefined : Number(m[3]);
      if (records === undefined) {
        const b = JSON.parse(body.toString('utf8')) as IngestBatchInput;
        records = (b.flows?.length ?? 0) + (b.l7?.length ?? 0);
      }
      return { batchId: m[4]!, body, records };
    } catch {
      return null;
    }
  }
}
