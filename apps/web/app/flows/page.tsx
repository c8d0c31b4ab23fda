'use client';
import type { FlowRecord } from '@sextant/db';
import type { FlowQueryFilter } from '@sextant/shared';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { recordOf, toCsv, toNdjson } from '../../src/client/flow-rows';
import { loginHref } from '../../src/client/sign-in-return';
import { parseRange } from '../../src/client/time-range';
import { parseUiFilter } from '../../src/client/ui-filter';
import { api, isUnauthorized } from '../../src/client/trpc';
import { readFlowsState, writeFlowsState, type FlowsState } from '../../src/client/url-state';
import { CoverageNotice, LiveCaptureNote } from './coverage';
import { FlowDrawer } from './drawer';
import { FilterBar } from './filter-bar';
import { FlowTable } from './flow-table';

const PAGE = 500;
const LIVE_CAP = 100_000;

function download(name: string, body: string, type: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([body], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Live tail: records pushed by the server, newest first, batched into React state a few times a second. */
function useLiveTail(enabled: boolean, filter: FlowQueryFilter | null, includeSelf: boolean) {
  const [rows, setRows] = useState<FlowRecord[]>([]);
  const [status, setStatus] = useState<'off' | 'connecting' | 'live' | 'error'>('off');
  const [error, setError] = useState<string | null>(null);
  const key = `${includeSelf}|${JSON.stringify(filter)}`;
  useEffect(() => {
    if (!enabled || !filter) {
      setStatus('off');
      return;
    }
    setRows([]);
    setStatus('connecting');
    setError(null);
    const pending: FlowRecord[] = [];
    const seen = new Set<string>();
    const flush = setInterval(() => {
      if (!pending.length) return;
      const batch = pending.splice(0).reverse();
      setRows((cur) => [...batch, ...cur].slice(0, LIVE_CAP));
    }, 250);
    const sub = api.flows.tail.subscribe(
      { filter, since: Date.now() - 5_000, includeSelf },
      {
        onStarted: () => setStatus('live'),
        onData: (d) => {
          const id = recordOf(d.data).id;
          if (seen.has(id)) return;
          seen.add(id);
          pending.push(d.data);
        },
        onError: (err) => {
          setStatus('error');
          setError(err.message);
        },
        onConnectionStateChange: (s) => setStatus(s.state === 'pending' ? 'live' : s.state === 'connecting' ? 'connecting' : 'off'),
      },
    );
    return () => {
      clearInterval(flush);
      sub.unsubscribe();
    };
    // the filter is compared by value
  }, [enabled, key]);
  return { rows, status, error };
}

function FlowsView() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const range = parseRange(params);
  const state = readFlowsState(params);
  const set = useCallback(
    (patch: Partial<FlowsState>, replace = false) => {
      const url = `${pathname}?${writeFlowsState(new URLSearchParams(window.location.search), patch).toString()}`;
      if (replace) router.replace(url, { scroll: false });
      else router.push(url, { scroll: false });
    },
    [pathname, router],
  );

  // A line with an error or with flags the page does not apply (--since: time comes from the range
  // picker) runs no query: its message is the whole answer, not "0 rows".
  const { filter, error: filterError } = parseUiFilter(state.q);
  // The window is fixed when the first page loads, so later pages continue the same result set.
  const windowRef = useRef(range);
  const rangeKey = `${params.get('range')}|${params.get('since')}|${params.get('until')}|${state.q}`;
  const windowKey = useRef(rangeKey);
  if (windowKey.current !== rangeKey) {
    windowKey.current = rangeKey;
    windowRef.current = range;
  }
  const services = useQuery({ queryKey: ['services'], queryFn: () => api.dashboards.services.query({ limit: 500 }), staleTime: 60_000 });
  const q = useInfiniteQuery({
    // Keyed by the URL's range parameters (not the computed times, which move with the clock).
    queryKey: ['flows', state.q, state.includeSelf, params.get('range'), params.get('since'), params.get('until')],
    enabled: filter !== null && !state.live,
    queryFn: ({ pageParam }) =>
      api.flows.search.query({
        filter: filter ?? { allow: [], deny: [] },
        window: { since: windowRef.current.since, until: windowRef.current.until },
        limit: PAGE,
        cursor: pageParam,
        includeSelf: state.includeSelf,
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  useEffect(() => {
    if (q.error && isUnauthorized(q.error)) router.replace(loginHref(window.location.pathname + window.location.search));
  }, [q.error, router]);
  const live = useLiveTail(state.live, filter, state.includeSelf);
  const pages = q.data?.pages;
  const searched = useMemo(() => pages?.flatMap((p) => p.items) ?? [], [pages]);
  const rows = state.live ? live.rows : searched;
  const selectedId = state.selected ? (state.selected.eventId ?? state.selected.flowId) : null;
  const endReached = useCallback(() => {
    if (!state.live && q.hasNextPage && !q.isFetchingNextPage) void q.fetchNextPage();
  }, [state.live, q]);
  const select = (r: FlowRecord) => {
    const rec = recordOf(r);
    set(
      {
        selected:
          r.kind === 'flow'
            ? { flowId: r.flow.id, time: r.flow.time, eventId: null }
            : { flowId: r.event.flowId, time: rec.time, eventId: r.event.id },
      },
      true,
    );
  };
  const lastEsc = useRef(0);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && state.selected && Date.now() - lastEsc.current > 50) {
        lastEsc.current = Date.now();
        set({ selected: null }, true);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [state.selected, set]);

  const footer = state.live
    ? `${rows.length.toLocaleString()} records since the tail started · ${live.status}`
    : q.isFetchingNextPage
      ? `${rows.length.toLocaleString()} rows · loading more…`
      : `${rows.length.toLocaleString()} rows${q.hasNextPage ? ' · scroll for more' : ' · end of results'} · ${range.label}`;
  return (
    <div className={state.selected ? 'with-drawer' : ''}>
      <FilterBar value={state.q} onApply={(text) => set({ q: text })} services={services.data ?? []}>
        <button
          type="button"
          className={state.live ? 'live on' : 'secondary live'}
          aria-pressed={state.live}
          onClick={() => set({ live: !state.live })}
        >
          {state.live ? '● Live' : '○ Live tail'}
        </button>
        <label title="Sextant's own traffic: browser ↔ Sextant server, server ↔ its PostgreSQL, collector → server">
          <input type="checkbox" checked={state.includeSelf} onChange={(e) => set({ includeSelf: e.target.checked }, true)} />{' '}
          Sextant&apos;s own traffic
        </label>
        <button
          type="button"
          className="secondary"
          onClick={() => download('sextant-flows.jsonl', toNdjson(rows), 'application/x-ndjson')}
          disabled={!rows.length}
        >
          Export JSON
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => download('sextant-flows.csv', toCsv(rows), 'text/csv')}
          disabled={!rows.length}
        >
          Export CSV
        </button>
      </FilterBar>
      <div className="status-line">
        {q.error && !isUnauthorized(q.error) && <span className="error">{q.error.message}</span>}
        {live.error && <span className="error">live tail: {live.error}</span>}
        {state.live ? (
          <LiveCaptureNote />
        ) : (
          <CoverageNotice
            enabled={filter !== null && !q.error}
            cacheKey={`${params.get('range')}|${params.get('since')}|${params.get('until')}`}
            window={{ since: windowRef.current.since, until: windowRef.current.until }}
            includeSelf={state.includeSelf}
          />
        )}
      </div>
      <div className="panel flush">
        {filterError ? (
          <div className="empty tall" role="alert">
            <span className="error">Filter not applied — {filterError}.</span>&nbsp;Correct it and press Apply.
          </div>
        ) : !state.live && q.isLoading ? (
          <div className="empty tall">loading…</div>
        ) : rows.length === 0 ? (
          <div className="empty tall">
            {state.live
              ? `Waiting for new records matching this filter (${live.status})…`
              : `No flows match in ${range.label}. Widen the time range or loosen the filter.`}
          </div>
        ) : (
          <FlowTable rows={rows} selectedId={selectedId} onSelect={select} onEndReached={endReached} footer={footer} />
        )}
      </div>
      {state.selected && (
        <FlowDrawer
          flowId={state.selected.flowId}
          time={state.selected.time}
          eventId={state.selected.eventId}
          onClose={() => set({ selected: null }, true)}
          onOpenExchange={(e) => set({ selected: { flowId: e.flowId, time: e.time, eventId: e.id } }, true)}
        />
      )}
    </div>
  );
}

export default function FlowsPage() {
  return (
    <Suspense>
      <FlowsView />
    </Suspense>
  );
}
