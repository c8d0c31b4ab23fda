/**
 * The on-disk spool: batches the server could not take yet, one JSON file each, named so that a directory
 * listing is oldest-first. Bounded in bytes: when full, the oldest batches are dropped and counted, so a long
 * outage costs the oldest data, never the collector's memory or the host's disk.
 *
 * Beside it, the dead-letter file: batches the server refused (4xx: it can never accept them as they are),
 * one JSON line each with the server's reason, kept for a person to look at instead of being retried forever.
 * Bounded too: past `maxDeadLetterBytes` the file becomes dead-letter.1.jsonl (replacing the previous one).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IngestBatchInput } from '@sextant/shared';
import type { PreparedBatch } from './prepared-batch';

// <sequence>-n<records>-<batch id>.json; files of earlier versions lack the record count.
const NAME = /^(\d+)-(?:n(\d+)-)?(.+)\.json$/;

export const DEAD_LETTER_FILE = 'dead-letter.jsonl';

export interface SpoolStats {
  files: number;
  bytes: number;
  droppedBatches: number;
  droppedRecords: number;
  /** Batches (and their records) put in the dead-letter file since the collector started. */
  deadLetterBatches: number;
  deadLetterRecords: number;
}

export class Spool {
  private seq = 0;
  private bytes = 0;
  private files = 0;
  private droppedBatches = 0;
  private droppedRecords = 0;
  private deadLetterBatches = 0;
  private deadLetterRecords = 0;
  /** Spooled file names, oldest first (kept in memory: listing the directory per send is too slow). */
  private names: string[] = [];

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
      droppedBatches: this.droppedBatches,
      droppedRecords: this.droppedRecords,
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

  /** Writes a batch durably (temp file + rename), then trims the oldest batches beyond the byte bound. */
  put(batch: PreparedBatch): void {
    const body = batch.body;
    const name = `${String(this.seq++).padStart(12, '0')}-n${batch.records}-${batch.batchId}.json`;
    const tmp = path.join(this.dir, `${name}.tmp`);
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, path.join(this.dir, name));
    this.names.push(name);
    this.bytes += body.length;
    this.files++;
    while (this.bytes > this.maxBytes && this.files > 1) {
      const oldest = this.list()[0];
      if (!oldest) break;
      const b = this.read(oldest);
      this.remove(oldest);
      this.droppedBatches++;
      this.droppedRecords += b?.records ?? 0;
    }
  }

  /** The oldest spooled batch not in `skip` (batches other senders hold), or null. */
  peek(skip: ReadonlySet<string> = new Set()): { name: string; batch: PreparedBatch } | null {
    for (const name of [...this.list()]) {
      if (skip.has(name)) continue;
      const batch = this.read(name);
      if (batch) return { name, batch };
      this.remove(name); // unreadable (truncated by a crash before rename cannot happen; disk errors can)
    }
    return null;
  }

  remove(name: string): void {
    const p = path.join(this.dir, name);
    const i = this.names.indexOf(name);
    if (i >= 0) this.names.splice(i, 1);
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
      let records = m[2] === undefined ? undefined : Number(m[2]);
      if (records === undefined) {
        const b = JSON.parse(body.toString('utf8')) as IngestBatchInput;
        records = (b.flows?.length ?? 0) + (b.l7?.length ?? 0);
      }
      return { batchId: m[3]!, body, records };
    } catch {
      return null;
    }
  }
}
