'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useMemo, useRef, useState } from 'react';
import { layout, type Positions } from '../../src/client/map-layout';
import { formatNs, formatRate, parseRange } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';

function healthColour(errorRatio: number): string {
  if (errorRatio >= 0.05) return 'var(--bad)';
  if (errorRatio > 0) return 'var(--warn)';
  return 'var(--ok)';
}

function MapView() {
  const params = useSearchParams();
  const router = useRouter();
  const range = parseRange(params);
  const [errorsOnly, setErrorsOnly] = useState(params.get('errors') === '1');
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const previous = useRef<Positions>(new Map());
  const q = useAuthedQuery({
    queryKey: ['map', params.toString(), errorsOnly],
    queryFn: () => api.servicemap.get.query({ window: { since: range.since, until: range.until }, errorsOnly }),
    refetchInterval: 15_000,
  });
  const positions = useMemo(() => {
    if (!q.data) return new Map() as Positions;
    const p = layout(q.data.nodes.map((n) => n.id), q.data.edges.map((e) => ({ source: e.source, target: e.destination })), previous.current);
    previous.current = p;
    return p;
  }, [q.data]);
  const xs = [...positions.values()].map((p) => p.x);
  const ys = [...positions.values()].map((p) => p.y);
  const pad = 60;
  const viewBox = xs.length ? `${Math.min(...xs) - pad} ${Math.min(...ys) - pad} ${Math.max(...xs) - Math.min(...xs) + 2 * pad} ${Math.max(...ys) - Math.min(...ys) + 2 * pad}` : '0 0 100 100';
  const node = q.data?.nodes.find((n) => n.id === selected);
  const peers = q.data?.edges.filter((e) => e.source === selected || e.destination === selected).slice(0, 10) ?? [];
  return (
    <>
      <div className="panel row">
        <strong>Service map</strong>
        <span className="muted">{range.label}</span>
        <label>
          <input type="checkbox" checked={errorsOnly} onChange={(e) => setErrorsOnly(e.target.checked)} /> errors only
        </label>
        <input aria-label="find service" placeholder="find service…" value={search} onChange={(e) => setSearch(e.target.value)} />
        <span className="muted">{q.data ? `${q.data.nodes.length} services, ${q.data.edges.length} edges` : ''}</span>
      </div>
      {q.isLoading && <div className="panel empty" style={{ height: 560 }}>loading…</div>}
      {q.error && <div className="panel error">{q.error.message}</div>}
      {q.data && q.data.edges.length === 0 && (
        <div className="panel empty" style={{ height: 560 }}>
          No traffic in this window. If you expected some, check <a href="/collectors">Collectors</a>: a collector that is not reporting cannot see anything.
        </div>
      )}
      {q.data && q.data.edges.length > 0 && (
        <div className="grid2" style={{ gridTemplateColumns: '2fr 1fr' }}>
          <div className="panel" style={{ height: 560, padding: 0 }}>
            <svg width="100%" height="100%" viewBox={viewBox} role="img" aria-label="service map">
              {q.data.edges.map((e) => {
                const a = positions.get(e.source);
                const b = positions.get(e.destination);
                if (!a || !b) return null;
                return (
                  <line key={e.id} x1={a.x} y1={a.y} x2={b.x} y2={b.y} stroke={healthColour(e.errorRatio)} strokeOpacity={0.7} strokeWidth={1 + Math.min(5, Math.log10(1 + e.requests))}
                    style={{ cursor: 'pointer' }}
                    onClick={() => router.push(`/flows?from=${encodeURIComponent(e.source.split('/').pop() ?? '')}&to=${encodeURIComponent(e.destination.split('/').pop() ?? '')}&${params.toString()}`)}>
                    <title>{`${e.source} → ${e.destination} (${e.protocol})\n${formatRate(e.requestsPerSecond)}, ${(e.errorRatio * 100).toFixed(1)} % errors, p95 ${formatNs(e.p95Ns)}`}</title>
                  </line>
                );
              })}
              {q.data.nodes.map((n) => {
                const p = positions.get(n.id);
                if (!p) return null;
                const hit = search && n.id.includes(search);
                const ratio = n.requestsIn ? n.errorsIn / n.requestsIn : 0;
                return (
                  <g key={n.id} transform={`translate(${p.x},${p.y})`} onClick={() => setSelected(n.id)} style={{ cursor: 'pointer' }}>
                    <circle r={hit || selected === n.id ? 11 : 8} fill={healthColour(ratio)} stroke={hit ? 'var(--accent)' : 'var(--panel)'} strokeWidth={hit ? 3 : 1.5} />
                    <text x={12} y={4}>{n.id}</text>
                  </g>
                );
              })}
            </svg>
          </div>
          <div className="panel" style={{ height: 560, overflow: 'auto' }}>
            {node ? (
              <>
                <h3>{node.id}</h3>
                <p>in: {node.requestsIn} requests, {node.errorsIn} errors · out: {node.requestsOut} requests, {node.errorsOut} errors</p>
                <table>
                  <thead><tr><th>peer</th><th>proto</th><th>req/s</th><th>err %</th><th>p95</th></tr></thead>
                  <tbody>
                    {peers.map((e) => (
                      <tr key={e.id}><td>{e.source === node.id ? `→ ${e.destination}` : `← ${e.source}`}</td><td>{e.protocol}</td><td>{formatRate(e.requestsPerSecond)}</td><td className={e.errorRatio > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td><td>{formatNs(e.p95Ns)}</td></tr>
                    ))}
                  </tbody>
                </table>
              </>
            ) : (
              <>
                <h3>Edges</h3>
                <table>
                  <thead><tr><th>source → destination</th><th>proto</th><th>requests</th><th>err %</th><th>p95</th></tr></thead>
                  <tbody>
                    {q.data.edges.slice(0, 200).map((e) => (
                      <tr key={e.id} className="clickable" onClick={() => router.push(`/flows?from=${encodeURIComponent(e.source.split('/').pop() ?? '')}&to=${encodeURIComponent(e.destination.split('/').pop() ?? '')}&${params.toString()}`)}>
                        <td>{e.source} → {e.destination}</td><td>{e.protocol}</td><td>{e.requests}</td><td className={e.errorRatio > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td><td>{formatNs(e.p95Ns)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </div>
        </div>
      )}
    </>
  );
}

export default function MapPage() {
  return (
    <Suspense>
      <MapView />
    </Suspense>
  );
}
