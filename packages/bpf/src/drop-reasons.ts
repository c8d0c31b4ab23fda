/**
 * Names of the kernel's drop reasons (enum skb_drop_reason), read at run time from the kfree_skb tracepoint's
 * print format, so they match the running kernel rather than a table we keep.
 */
import fs from 'node:fs';

let cache: Map<number, string> | undefined;

export function parseDropReasons(format: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of format.matchAll(/\{\s*(\d+),\s*"([A-Z0-9_]+)"\s*\}/g)) out.set(Number(m[1]), m[2] as string);
  return out;
}

export function dropReasonName(reason: number): string {
  if (!cache) {
    try {
      cache = parseDropReasons(fs.readFileSync('/sys/kernel/tracing/events/skb/kfree_skb/format', 'utf8'));
    } catch {
      cache = new Map();
    }
  }
  return cache.get(reason) ?? `REASON_${reason}`;
}
