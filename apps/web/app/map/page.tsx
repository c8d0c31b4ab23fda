'use client';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect } from 'react';
import { GrafanaExportButton } from '../../src/client/grafana-export-button';
import { parseRange } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';
import { MapView, type MapState } from './map-view';

function readMapState(p: URLSearchParams): MapState {
  return {
    group: p.get('group') === 'namespace' ? 'namespace' : 'none',
    errorsOnly: p.get('errors') === '1',
    namespace: p.get('ns') ?? '',
    find: p.get('find') ?? '',
    node: p.get('node'),
    edge: p.get('edge'),
  };
}

function writeMapState(base: URLSearchParams, s: MapState): URLSearchParams {
  const next = new URLSearchParams(base.toString());
  const put = (k: string, v: string | null | false) => (v ? next.set(k, v) : next.delete(k));
  put('group', s.group === 'none' ? null : s.group);
  put('errors', s.errorsOnly && '1');
  put('ns', s.namespace);
  put('find', s.find);
  put('node', s.node);
  put('edge', s.edge);
  return next;
}

function MapPage() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const range = parseRange(params);
  const state = readMapState(params);
  // Sextant's own traffic (browser ↔ server, server ↔ PostgreSQL, collector → server): hidden unless self=1.
  const includeSelf = params.get('self') === '1';
  const setSelf = useCallback(
    (on: boolean) => {
      const cur = new URLSearchParams(window.location.search);
      if (on) cur.set('self', '1');
      else cur.delete('self');
      router.replace(`${pathname}?${cur.toString()}`, { scroll: false });
    },
    [pathname, router],
  );
  const set = useCallback(
    (patch: Partial<MapState>) => {
      const cur = new URLSearchParams(window.location.search);
      router.replace(`${pathname}?${writeMapState(cur, { ...readMapState(cur), ...patch }).toString()}`, { scroll: false });
    },
    [pathname, router],
  );
  const q = useAuthedQuery({
    // Keyed by the URL's range parameters (not the computed times, which move with the clock).
    queryKey: ['map', params.get('range'), params.get('since'), params.get('until'), includeSelf],
    queryFn: () => {
      const r = parseRange(new URLSearchParams(window.location.search));
      return api.servicemap.get.query({
        window: { since: r.since, until: r.until },
        includeSelf: new URLSearchParams(window.location.search).get('self') === '1',
      });
    },
    refetchInterval: 15_000,
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && (state.node || state.edge) && set({ node: null, edge: null });
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [state.node, state.edge, set]);
  const namespaces = q.data ? [...new Set(q.data.nodes.map((n) => n.namespace))].sort() : [];
  return (
    <>
      <div className="panel row">
        <strong>Service map</strong>
        <span className="muted">{range.label}</span>
        <select aria-label="namespace" value={state.namespace} onChange={(e) => set({ namespace: e.target.value })}>
          <option value="">all namespaces</option>
          {namespaces.map((n) => (
            <option key={n} value={n}>
              {n || '(none)'}
            </option>
          ))}
        </select>
        <select aria-label="group by" value={state.group} onChange={(e) => set({ group: e.target.value as MapState['group'] })}>
          <option value="none">no grouping</option>
          <option value="namespace">group by namespace</option>
        </select>
        <label>
          <input type="checkbox" checked={state.errorsOnly} onChange={(e) => set({ errorsOnly: e.target.checked })} /> errors only
        </label>
        <label title="Sextant's own traffic: browser ↔ Sextant server, server ↔ its PostgreSQL, collector → server">
          <input type="checkbox" checked={includeSelf} onChange={(e) => setSelf(e.target.checked)} /> Sextant&apos;s own traffic
        </label>
        <input
          data-shortcut="filter"
          aria-label="find service"
          placeholder="find service…  ( / )"
          value={state.find}
          onChange={(e) => set({ find: e.target.value })}
        />
        <span className="spacer" />
        <span className="muted">
          {q.data ? `${q.data.nodes.length} services, ${q.data.edges.length} edges · refreshes every 15 s` : ' '}
        </span>
        <GrafanaExportButton dashboard="map" namespace={state.namespace || undefined} />
      </div>
      {q.isLoading && (
        <div className="panel empty" style={{ height: 'calc(100vh - 150px)' }}>
          loading…
        </div>
      )}
      {q.error && <div className="panel error">{q.error.message}</div>}
      {q.data && q.data.edges.length === 0 && (
        <div className="panel empty" style={{ height: 'calc(100vh - 150px)' }}>
          No traffic in this window. If you expected some, check <a href="/collectors">Collectors</a>: a collector that is not reporting
          cannot see anything.
        </div>
      )}
      {q.data && q.data.edges.length > 0 && <MapView data={q.data} state={state} set={set} rangeParams={params} />}
    </>
  );
}

export default function Page() {
  return (
    <Suspense>
      <MapPage />
    </Suspense>
  );
}
