/**
 * The flow page's filter line: `hubble observe` flags, minus those the page does not apply. Time comes
 * from the range picker and the table shows every match, so `--since`, `--until`, `--last`, `--first`,
 * `--follow` and `--output` are refused with the reason instead of being silently ignored (they were: a
 * `--since 5m` line showed the picker's hour and said nothing).
 */
import { parseFilterText, splitArgs, type FlowQueryFilter, type ObserveQuery } from '@sextant/shared';

export type UiFilter = { filter: FlowQueryFilter; error: null } | { filter: null; error: string };

/** Flags the page does not apply, with what to use instead. */
export const NOT_APPLIED: Record<string, string> = {
  since: 'time comes from the range picker (top right), not from the filter line',
  until: 'time comes from the range picker (top right), not from the filter line',
  last: 'the table lists every match, newest first; narrow the time range instead',
  first: 'the table lists every match, newest first; narrow the time range instead',
  follow: 'use the Live tail button',
  output: 'use Export JSON or Export CSV',
};
const ALIASES: Record<string, string> = { f: 'follow', o: 'output' };

/** The names of the flags in `text` (without dashes, aliases resolved), in order, each once. */
function flagNames(text: string): string[] {
  const names: string[] = [];
  for (const arg of splitArgs(text)) {
    const m = /^--?([a-z][\w-]*)/i.exec(arg);
    if (!m) continue;
    const name = ALIASES[m[1] as string] ?? (m[1] as string);
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

export function parseUiFilter(text: string, now = Date.now()): UiFilter {
  if (!text.trim()) return { filter: { allow: [], deny: [] }, error: null };
  let parsed: ObserveQuery;
  try {
    parsed = parseFilterText(text, now);
  } catch (err) {
    return { filter: null, error: (err as Error).message };
  }
  const refused = flagNames(text).filter((n) => n in NOT_APPLIED);
  if (refused.length) {
    return { filter: null, error: refused.map((n) => `--${n}: ${NOT_APPLIED[n]}`).join('; ') };
  }
  return { filter: parsed.filter, error: null };
}
