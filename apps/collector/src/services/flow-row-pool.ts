/**
 * Flow row arrays used again: a batch's rows are garbage once it is serialized, and at tens of thousands of
 * connections a second two new 28-slot arrays per connection, each held until its batch is cut (long enough to be
 * copied by the young-generation collector), were the largest single allocation of the collector's TCP path
 * (apps/collector/bench/close-path.bench.ts). prepareBatch hands its rows back; FlowAssembler takes them.
 */
import { FLOW_FIELDS } from '@sextant/shared';

/** Rows kept for reuse at most (two batches' worth at the default batch size). */
const MAX_POOLED = 4_096;
const pool: unknown[][] = [];

/** A row array of FLOW_FIELDS' length whose every slot the caller sets (a used one holds the last row's values). */
export function takeFlowRow(): unknown[] {
  return pool.pop() ?? new Array<unknown>(FLOW_FIELDS.length);
}

/** Rows no one refers to any more (a serialized batch's): kept for `takeFlowRow`. */
export function recycleFlowRows(rows: readonly unknown[][]): void {
  for (let i = 0; i < rows.length && pool.length < MAX_POOLED; i++) if (rows[i]!.length === FLOW_FIELDS.length) pool.push(rows[i]!);
}
