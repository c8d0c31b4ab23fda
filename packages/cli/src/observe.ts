/**
 * `sextant observe`: hubble observe's flags and semantics over the server's flow search. Without --since,
 * --last, --first or --follow it prints the last 20 flows, oldest first, like hubble. --follow polls for
 * newer records (re-reading a short lookback so late-arriving records are not missed, each printed once).
 */
import type { FilterRecord, ObserveQuery } from '@sextant/shared';
import { ObserveArgsError, parseObserveArgs, validateQueryFilter } from '@sextant/shared';
import { type ApiClient, call, type Connection, UsageError } from './client';
import { createPrinter } from './format';

const DEFAULT_LAST = 20;
const PAGE = 1000;
/** Upper bound of records one non-follow query prints; beyond it the CLI says so and stops. */
export const MAX_RECORDS = 100_000;
/** The server accepts windows up to 400 days. */
const MAX_WINDOW_MS = 399 * 86_400_000;
const FOLLOW_POLL_MS = 1000;
const FOLLOW_LOOKBACK_MS = 15_000;

const idOf = (r: FilterRecord) => (r.kind === 'flow' ? r.flow.id : r.event.id);
const timeOf = (r: FilterRecord) => (r.kind === 'flow' ? r.flow.time : r.event.time);

export function parseObserve(argv: string[], now: number): ObserveQuery {
  let q: ObserveQuery;
  try {
    q = parseObserveArgs(argv, now);
  } catch (err) {
    if (err instanceof ObserveArgsError) throw new UsageError(err.message);
    throw err;
  }
  const problems = validateQueryFilter(q.filter);
  if (problems.length) throw new UsageError(problems.join('; '));
  if (q.last !== undefined && q.first !== undefined) throw new UsageError('--first and --last cannot be combined');
  if (q.since !== undefined && q.until !== undefined && q.since >= q.until) throw new UsageError('--since must be before --until');
  if (q.follow && (q.until !== undefined || q.first !== undefined))
    throw new UsageError('--follow cannot be combined with --until or --first');
  return q;
}

/** Newest-first pages until `max` records or the window is exhausted; returns them newest first. */
async function newestFirst(
  conn: Connection,
  api: ApiClient,
  q: ObserveQuery,
  since: number,
  until: number,
  max: number,
): Promise<{ items: FilterRecord[]; more: boolean }> {
  const items: FilterRecord[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < Math.ceil(MAX_RECORDS / PAGE) + 1; page++) {
    const limit = Math.min(PAGE, max - items.length);
    const res = await call(conn, () => api.flows.search.query({ filter: q.filter, window: { since, until }, limit, cursor }));
    items.push(...(res.items as FilterRecord[]));
    cursor = res.nextCursor ?? undefined;
    if (!cursor) return { items, more: false };
    if (items.length >= max) return { items, more: true };
  }
  return { items, more: true };
}

export interface ObserveIo {
  write(text: string): void;
  warn(text: string): void;
  /** Resolves when the user interrupts --follow. */
  stopped: Promise<void>;
}

export async function observe(conn: Connection, api: ApiClient, q: ObserveQuery, now: number, io: ObserveIo): Promise<void> {
  const print = createPrinter(q.output, io.write);
  const until = q.until ?? now;
  const since = q.since ?? Math.max(0, until - MAX_WINDOW_MS);
  const backlog = !q.follow || q.last !== undefined || q.since !== undefined || q.first !== undefined;
  let shown: FilterRecord[] = [];
  if (backlog) {
    const wantAll = q.last === undefined && (q.since !== undefined || q.until !== undefined || q.first !== undefined || q.follow);
    const max = q.last ?? (wantAll ? MAX_RECORDS : DEFAULT_LAST);
    const { items, more } = await newestFirst(conn, api, q, since, until, max);
    shown = items.reverse();
    if (q.first !== undefined) shown = shown.slice(0, q.first);
    if (more && q.last === undefined)
      io.warn(`sextant: showing the newest ${MAX_RECORDS} records only; narrow the window with --since/--until\n`);
    print(shown);
  }
  if (!q.follow) return;

  // Follow: everything up to `until` has been shown; poll for newer records.
  const seen = new Map<string, number>(shown.map((r) => [idOf(r), timeOf(r)]));
  let position = Math.max(until, ...shown.map(timeOf));
  if (!backlog) {
    // Only records stored from now on: what the lookback would re-read counts as already seen.
    const { items } = await newestFirst(conn, api, q, Math.max(0, position - FOLLOW_LOOKBACK_MS), position + 1, MAX_RECORDS);
    for (const r of items) seen.set(idOf(r), timeOf(r));
  }
  let stop = false;
  void io.stopped.then(() => (stop = true));
  while (!stop) {
    const to = Date.now();
    const from = Math.max(0, position - FOLLOW_LOOKBACK_MS);
    const { items } = await newestFirst(conn, api, q, from, to + 1, MAX_RECORDS);
    const fresh = items.reverse().filter((r) => !seen.has(idOf(r)));
    for (const r of fresh) {
      seen.set(idOf(r), timeOf(r));
      position = Math.max(position, timeOf(r));
    }
    print(fresh);
    for (const [id, t] of seen) if (t < position - 2 * FOLLOW_LOOKBACK_MS) seen.delete(id);
    await Promise.race([new Promise((r) => setTimeout(r, FOLLOW_POLL_MS)), io.stopped]);
  }
}
