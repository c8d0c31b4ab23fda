'use client';
/**
 * The flow table: only the rows in view (plus a margin) are in the DOM, so 100k records scroll smoothly.
 * Fixed row height, fixed column template, fixed table height: nothing jumps while data streams in.
 */
import type { FlowRecord } from '@sextant/db';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef } from 'react';
import { rowView } from '../../src/client/flow-rows';
import { formatNs } from '../../src/client/time-range';

export const ROW_HEIGHT = 30;
const COLUMNS = '114px minmax(100px, 1fr) minmax(100px, 1fr) 100px minmax(150px, 1.5fr) 112px 80px';

function timeOf(ms: number): string {
  const d = new Date(ms);
  return `${d.toLocaleTimeString([], { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export function FlowTable({ rows, selectedId, onSelect, onEndReached, footer, height = 'calc(100vh - 230px)' }: {
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
  return (
    <div className="ftable" role="table" aria-label="flows" aria-rowcount={views.length}>
      <div className="frow fhead" role="row" style={{ gridTemplateColumns: COLUMNS }}>
        {['time', 'source', 'destination', 'port/proto', 'L7 / outcome', 'verdict', 'latency'].map((h) => (
          <div key={h} role="columnheader">{h}</div>
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
                aria-selected={selectedId === r.id}
                className={`frow${selectedId === r.id ? ' selected' : ''}${it.index % 2 ? ' odd' : ''}`}
                style={{ gridTemplateColumns: COLUMNS, transform: `translateY(${it.start}px)`, height: ROW_HEIGHT }}
                onClick={() => onSelect?.(rows[it.index] as FlowRecord)}
              >
                <div role="cell" className="mono">{timeOf(r.time)}</div>
                <div role="cell" title={r.source}>{r.source}</div>
                <div role="cell" title={r.destination}>{r.destination}</div>
                <div role="cell" className="mono">{r.port}</div>
                <div role="cell" className={r.tone === 'ok' ? '' : r.tone} title={r.l7}>{r.l7}</div>
                <div role="cell" className={r.verdict.startsWith('DROPPED') ? 'bad' : ''}>{r.verdict}</div>
                <div role="cell" className="mono num">{formatNs(r.latencyNs)}</div>
              </div>
            );
          })}
        </div>
      </div>
      <div className="ffoot muted">{footer ?? `${views.length.toLocaleString()} rows`}</div>
    </div>
  );
}
