'use client';
/**
 * The flow table: only the rows in view (plus a margin) are in the DOM, so 100k records scroll smoothly.
 * Fixed row height, fixed column template, fixed table height: nothing jumps while data streams in.
 * Keyboard: one tab stop in the rows (the open one, else the first in view), ↑/↓ move, Enter or Space opens
 * the drawer. Narrow screens drop port, time, source, then destination (globals.css), never the outcome,
 * verdict or latency.
 */
import type { FlowRecord } from '@sextant/db';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, type KeyboardEvent } from 'react';
import { rowView } from '../../src/client/flow-rows';
import { formatNs } from '../../src/client/time-range';

export const ROW_HEIGHT = 30;
const HEADERS: [string, string][] = [
  ['c-time', 'time'],
  ['c-src', 'source'],
  ['c-dst', 'destination'],
  ['c-port', 'port/proto'],
  ['c-l7', 'L7 / outcome'],
  ['c-verdict', 'verdict'],
  ['c-lat', 'latency'],
];

function timeOf(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function FlowTable({
  rows,
  selectedId,
  onSelect,
  onEndReached,
  footer,
  height = 'calc(100vh - 230px)',
}: {
  rows: FlowRecord[];
  selectedId?: string | null;
  onSelect?: (r: FlowRecord) => void;
  /** Called when the last rows come into view (load the next page). */
  onEndReached?: () => void;
  footer?: string;
  height?: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const views = useMemo(() => rows.map(rowView), [rows]);
  const v = useVirtualizer({ count: views.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 15 });
  const items = v.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (onEndReached && views.length > 0 && lastIndex >= views.length - 40) onEndReached();
  }, [lastIndex, views.length, onEndReached]);
  const focusRow = (index: number) => {
    const to = Math.max(0, Math.min(views.length - 1, index));
    v.scrollToIndex(to, { align: 'auto' });
    requestAnimationFrame(() => scroller.current?.querySelector<HTMLElement>(`[data-index="${to}"]`)?.focus());
  };
  const onRowKey = (e: KeyboardEvent, index: number) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect?.(rows[index] as FlowRecord);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      focusRow(index + (e.key === 'ArrowDown' ? 1 : -1));
    }
  };
  const stop = items.some((it) => views[it.index]?.id === selectedId) ? selectedId : (views[items[0]?.index ?? 0]?.id ?? null);
  return (
    <div className="ftable" role="table" aria-label="flows" aria-rowcount={views.length}>
      <div className="frow fhead" role="row">
        {HEADERS.map(([c, h]) => (
          <div key={h} className={c} role="columnheader">
            {h}
          </div>
        ))}
      </div>
      <div ref={scroller} className="fbody" style={{ height }} data-testid="flow-scroller">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {items.map((it) => {
            const r = views[it.index];
            if (!r) return null;
            return (
              <div
                key={r.id}
                role="row"
                data-id={r.id}
                data-index={it.index}
                tabIndex={r.id === stop ? 0 : -1}
                aria-selected={selectedId === r.id}
                className={`frow${selectedId === r.id ? ' selected' : ''}${it.index % 2 ? ' odd' : ''}`}
                style={{ transform: `translateY(${it.start}px)`, height: ROW_HEIGHT }}
                onClick={() => onSelect?.(rows[it.index] as FlowRecord)}
                onKeyDown={(e) => onRowKey(e, it.index)}
              >
                <div role="cell" className="c-time mono">
                  {timeOf(r.time)}
                </div>
                <div role="cell" className="c-src" title={r.source}>
                  {r.source}
                </div>
                <div role="cell" className="c-dst" title={r.destination}>
                  {r.destination}
                </div>
                <div role="cell" className="c-port mono">
                  {r.port}
                </div>
                <div role="cell" className={`c-l7 ${r.tone === 'ok' ? '' : r.tone}`} title={r.l7}>
                  {r.l7}
                </div>
                <div role="cell" className={`c-verdict ${r.verdict.startsWith('DROPPED') ? 'bad' : ''}`} title={r.verdict}>
                  {r.verdict}
                </div>
                <div role="cell" className="c-lat mono num">
                  {formatNs(r.latencyNs)}
                </div>
              </div>
            );
          })}
        </div>
      </div>
      <div className="ffoot muted">{footer ?? `${views.length.toLocaleString()} rows`}</div>
    </div>
  );
}
