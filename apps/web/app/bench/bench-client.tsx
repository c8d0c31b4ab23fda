'use client';
import { useSearchParams } from 'next/navigation';
import { Suspense, useMemo, useState } from 'react';
import { benchFlows, benchMap } from './bench-data';
import { FlowTable } from '../flows/flow-table';
import { MapView, type MapState } from '../map/map-view';

function Bench() {
  const params = useSearchParams();
  const view = params.get('view') ?? 'map';
  const n = Math.min(Number(params.get('n') ?? 1000) || 1000, 200_000);
  const e = Math.min(Number(params.get('e') ?? 3000) || 3000, 20_000);
  const map = useMemo(() => (view === 'map' ? benchMap(n, e) : null), [view, n, e]);
  const rows = useMemo(() => (view === 'flows' ? benchFlows(n) : []), [view, n]);
  const [state, setState] = useState<MapState>({
    group: params.get('group') === 'namespace' ? 'namespace' : 'none',
    errorsOnly: false,
    namespace: '',
    find: '',
    node: null,
    edge: null,
  });
  if (map) return <MapView data={map} state={state} set={(p) => setState((s) => ({ ...s, ...p }))} rangeParams={new URLSearchParams()} />;
  return (
    <div className="panel flush">
      <FlowTable rows={rows} footer={`${rows.length.toLocaleString()} generated rows`} />
    </div>
  );
}

export function BenchClient() {
  return (
    <Suspense>
      <Bench />
    </Suspense>
  );
}
