'use client';
/**
 * The service map view for a given data set: controls (group by, errors only, namespace, search), the canvas
 * and the side panel (edges list, a node's golden signals and top peers, an edge's figures and its flows).
 * Used by the map page with live data and by the UI benchmark page with generated data.
 */
import type { ServiceMap } from '@sextant/db';
import { HIST_PRECISION, PERCENTILE_NOTE } from '@sextant/shared';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMemo, useRef } from 'react';
import { healthLevel, layoutWith, type Positions } from '../../src/client/map-layout';
import { formatBytes, formatCount, formatNs, formatRate } from '../../src/client/time-range';
import { flowsLink, serviceFlags } from '../../src/client/url-state';
import { type CanvasEdge, type CanvasNode } from '../../src/client/map-paint';
import { MapCanvas } from './map-canvas';

export interface MapState {
  group: 'none' | 'namespace';
  errorsOnly: boolean;
  namespace: string;
  find: string;
  node: string | null;
  edge: string | null;
}

type Edge = ServiceMap['edges'][number];

export function edgeQuery(e: Edge): string {
  // A tcp/udp edge counts connections: its flows are the L3/L4 records (an http edge: its exchanges).
  const proto = e.protocol === 'tcp' || e.protocol === 'udp' ? `--type trace --protocol ${e.protocol}` : `--protocol ${e.protocol}`;
  return `${serviceFlags('from', e.source)} ${serviceFlags('to', e.destination)} ${proto}`;
}

export function MapView({ data, state, set, rangeParams }: {
  data: ServiceMap;
  state: MapState;
  set: (patch: Partial<MapState>) => void;
  rangeParams: URLSearchParams;
}) {
  const router = useRouter();
  const previous = useRef<Positions>(new Map());
  const { nodes, edges } = useMemo(() => {
    let edges = data.edges;
    if (state.errorsOnly) edges = edges.filter((e) => e.errors > 0);
    if (state.namespace) {
      const inNs = (id: string) => data.nodes.find((n) => n.id === id)?.namespace === state.namespace;
      edges = edges.filter((e) => inNs(e.source) || inNs(e.destination));
    }
    const used = new Set(edges.flatMap((e) => [e.source, e.destination]));
    const nodes = data.nodes.filter((n) => used.has(n.id) || (!state.errorsOnly && !state.namespace));
    return { nodes, edges };
  }, [data, state.errorsOnly, state.namespace]);
  const layoutKey = `${state.group}`;
  const laidOutFor = useRef(layoutKey);
  const positions = useMemo(() => {
    if (laidOutFor.current !== layoutKey) {
      // Regrouping needs a fresh layout, not the old seeds; a plain refresh keeps every known position.
      previous.current = new Map();
      laidOutFor.current = layoutKey;
    }
    const p = layoutWith(nodes.map((n) => n.id), edges.map((e) => ({ source: e.source, target: e.destination })), {
      previous: previous.current,
      groupOf: state.group === 'namespace' ? (id) => nodes.find((n) => n.id === id)?.namespace ?? '' : undefined,
    });
    // Keep every position ever placed so toggling filters does not reshuffle the map.
    const merged = new Map(previous.current);
    for (const [k, v] of p) merged.set(k, v);
    previous.current = merged;
    return p;
    // layoutKey covers the grouping
  }, [nodes, edges, layoutKey]);

  const canvasNodes: CanvasNode[] = useMemo(() => nodes.map((n) => {
    const ratio = n.requestsIn ? n.errorsIn / n.requestsIn : n.requestsOut ? n.errorsOut / n.requestsOut : 0;
    return { id: n.id, label: n.id, group: n.namespace, level: healthLevel(ratio), r: 5 + Math.min(9, Math.log10(1 + n.requestsIn + n.requestsOut) * 1.6) };
  }), [nodes]);
  const canvasEdges: CanvasEdge[] = useMemo(() => edges.map((e) => ({
    id: e.id,
    source: e.source,
    destination: e.destination,
    level: healthLevel(e.errorRatio),
    width: 1 + Math.min(5, Math.log10(1 + e.requests)),
    tip: `${e.source} → ${e.destination} (${e.protocol})\n${formatRate(e.requestsPerSecond)} · ${(e.errorRatio * 100).toFixed(1)} % errors · p95 ${formatNs(e.p95Ns)} (bucket upper bound, ≤ ${HIST_PRECISION * 100} % over)\n${formatBytes(e.bytesSent + e.bytesReceived)}`,
  })), [edges]);
  const highlight = useMemo(() => {
    const f = state.find.trim().toLowerCase();
    return new Set(f ? nodes.filter((n) => n.id.toLowerCase().includes(f)).map((n) => n.id) : []);
  }, [nodes, state.find]);

  const node = state.node ? data.nodes.find((n) => n.id === state.node) : undefined;
  const edge = state.edge ? data.edges.find((e) => e.id === state.edge) : undefined;
  const seconds = Math.max(1, (data.until - data.since) / 1000);

  return (
    <div className="map-layout">
      <div className="panel map-canvas">
        {edges.length === 0 ? (
          <div className="empty tall">{state.errorsOnly ? 'No failing edges in this window.' : 'No edges match.'}</div>
        ) : (
          <MapCanvas
            nodes={canvasNodes}
            edges={canvasEdges}
            positions={positions}
            groups={state.group !== 'none'}
            highlight={highlight}
            selectedNode={state.node}
            selectedEdge={state.edge}
            onNodeClick={(id) => set({ node: id, edge: null })}
            onEdgeClick={(id) => set({ edge: id, node: null })}
            onBackgroundClick={() => (state.node || state.edge) && set({ node: null, edge: null })}
            fitKey={`${layoutKey}|${state.namespace}|${state.errorsOnly}`}
          />
        )}
        <div className="map-legend">
          <span className="ok">● healthy</span><span className="warn">● some errors</span><span className="bad">● ≥ 5 % errors</span>
          <span className="muted">{nodes.length} services · {edges.length} edges · drag to pan, wheel to zoom</span>
        </div>
      </div>
      <div className="panel map-side">
        {node ? (
          <NodePanel node={node} edges={data.edges} seconds={seconds} rangeParams={rangeParams} onClose={() => set({ node: null })} onPeer={(id) => set({ node: id })} />
        ) : edge ? (
          <EdgePanel edge={edge} rangeParams={rangeParams} onClose={() => set({ edge: null })} />
        ) : (
          <>
            <h3 style={{ marginTop: 0 }}>Edges <span className="muted" style={{ fontWeight: 400, fontSize: 13 }}>by requests · click for flows</span></h3>
            <table className="compact">
              <thead><tr><th>source → destination</th><th>proto</th><th>requests</th><th>err %</th><th title={PERCENTILE_NOTE}>p95 ⓘ</th></tr></thead>
              <tbody>
                {[...edges].sort((a, b) => b.requests - a.requests).slice(0, 200).map((e) => (
                  <tr key={e.id} className="clickable" onClick={() => router.push(flowsLink(edgeQuery(e), rangeParams))}>
                    <td><Link href={flowsLink(edgeQuery(e), rangeParams)} style={{ color: 'inherit' }}>{e.source} → {e.destination}</Link></td>
                    <td>{e.protocol}</td><td>{e.requests}</td><td className={e.errorRatio > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td><td>{formatNs(e.p95Ns)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </div>
  );
}

function Stat({ k, v, bad, note }: { k: string; v: string; bad?: boolean; note?: string }) {
  return <div className="stat" title={note}><div className={`v${bad ? ' bad' : ''}`}>{v}</div><div className="k">{k}{note && ' ⓘ'}</div></div>;
}

function NodePanel({ node, edges, seconds, rangeParams, onClose, onPeer }: {
  node: ServiceMap['nodes'][number];
  edges: Edge[];
  seconds: number;
  rangeParams: URLSearchParams;
  onClose: () => void;
  onPeer: (id: string) => void;
}) {
  const inbound = edges.filter((e) => e.destination === node.id);
  const peers = edges.filter((e) => e.source === node.id || e.destination === node.id).sort((a, b) => b.requests - a.requests).slice(0, 12);
  const worst = (k: 'p50Ns' | 'p95Ns' | 'p99Ns') => inbound.reduce<number | null>((m, e) => (e[k] !== null && (m === null || (e[k] as number) > m) ? e[k] : m), null);
  const errIn = node.requestsIn ? node.errorsIn / node.requestsIn : 0;
  const dash = new URLSearchParams(rangeParams.toString());
  dash.set('service', node.name);
  dash.set('namespace', node.namespace);
  return (
    <>
      <div className="row"><h3 style={{ margin: 0 }}>{node.id}</h3><span className="spacer" /><button className="secondary" onClick={onClose}>close</button></div>
      <div className="stat-grid">
        <Stat k="requests in / s" v={formatRate(node.requestsIn / seconds)} />
        <Stat k="error rate in" v={`${(errIn * 100).toFixed(2)} %`} bad={errIn > 0} />
        <Stat k="p95 in (worst caller)" v={formatNs(worst('p95Ns'))} note={PERCENTILE_NOTE} />
        <Stat k="p99 in (worst caller)" v={formatNs(worst('p99Ns'))} note={PERCENTILE_NOTE} />
        <Stat k="requests out / s" v={formatRate(node.requestsOut / seconds)} />
        <Stat k="errors out" v={formatCount(node.errorsOut)} bad={node.errorsOut > 0} />
      </div>
      <div className="row">
        <Link href={`/dashboards?${dash.toString()}`}>dashboard →</Link>
        <Link href={flowsLink(serviceFlags('to', node.id), rangeParams)}>inbound flows →</Link>
        <Link href={flowsLink(`${serviceFlags('to', node.id)} --http-status 5+`, rangeParams)}>inbound 5xx →</Link>
      </div>
      <h4>Top peers</h4>
      <table className="compact">
        <thead><tr><th>peer</th><th>proto</th><th>req/s</th><th>err %</th><th title={PERCENTILE_NOTE}>p95 ⓘ</th></tr></thead>
        <tbody>
          {peers.map((e) => {
            const peer = e.source === node.id ? e.destination : e.source;
            return (
              <tr key={e.id} className="clickable" onClick={() => onPeer(peer)}>
                <td>{e.source === node.id ? '→ ' : '← '}{peer}</td><td>{e.protocol}</td><td>{formatRate(e.requestsPerSecond)}</td>
                <td className={e.errorRatio > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td><td>{formatNs(e.p95Ns)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function EdgePanel({ edge, rangeParams, onClose }: { edge: Edge; rangeParams: URLSearchParams; onClose: () => void }) {
  return (
    <>
      <div className="row"><h3 style={{ margin: 0 }}>{edge.source} → {edge.destination}</h3><span className="spacer" /><button className="secondary" onClick={onClose}>close</button></div>
      <p className="muted">{edge.protocol}</p>
      <div className="stat-grid">
        <Stat k="requests" v={formatCount(edge.requests)} />
        <Stat k="rate" v={formatRate(edge.requestsPerSecond)} />
        <Stat k="errors" v={`${formatCount(edge.errors)} (${(edge.errorRatio * 100).toFixed(1)} %)`} bad={edge.errors > 0} />
        <Stat k="p50 / p95 / p99" v={`${formatNs(edge.p50Ns)} / ${formatNs(edge.p95Ns)} / ${formatNs(edge.p99Ns)}`} note={PERCENTILE_NOTE} />
        <Stat k="bytes sent / received" v={`${formatBytes(edge.bytesSent)} / ${formatBytes(edge.bytesReceived)}`} />
        <Stat k="retransmits" v={formatCount(edge.retransmits)} bad={edge.retransmits > 0} />
      </div>
      <div className="row">
        <Link href={flowsLink(edgeQuery(edge), rangeParams)}>its {formatCount(edge.requests)} requests / flows →</Link>
        {edge.errors > 0 && <Link href={flowsLink(`${edgeQuery(edge)} --http-status 5+`, rangeParams)}>only 5xx →</Link>}
      </div>
    </>
  );
}
