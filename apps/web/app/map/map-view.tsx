'use client';
/**
 * The service map view for a given data set: the canvas with its legend, and the side panel (edges list, a
 * node's golden signals and top peers, an edge's figures and its flows). Used by the map page with live data
 * and by the UI benchmark page with generated data; the controls that set `MapState` are the page's.
 */
import type { ServiceMap } from '@sextant/db';
import { useMemo, useRef } from 'react';
import { layoutWith, type Positions } from '../../src/client/map-layout';
import { searchHits, toCanvasEdges, toCanvasNode, visibleGraph } from '../../src/client/map-model';
import { MapCanvas } from './map-canvas';
import { EdgePanel, EdgesTable, NodePanel } from './map-panels';
import { NodeList } from './node-list';

export interface MapState {
  group: 'none' | 'namespace';
  errorsOnly: boolean;
  namespace: string;
  find: string;
  node: string | null;
  edge: string | null;
}

/**
 * The filtered graph, its layout and what the canvas draws. Every position ever placed is kept and seeds the
 * next layout, so refreshing or toggling filters does not reshuffle the map; regrouping starts afresh.
 */
function useMapModel(data: ServiceMap, state: MapState) {
  const previous = useRef<Positions>(new Map());
  const { nodes, edges } = useMemo(() => visibleGraph(data, state.errorsOnly, state.namespace), [data, state.errorsOnly, state.namespace]);
  const layoutKey = `${state.group}`;
  const laidOutFor = useRef(layoutKey);
  const positions = useMemo(() => {
    if (laidOutFor.current !== layoutKey) {
      previous.current = new Map();
      laidOutFor.current = layoutKey;
    }
    const nsOf = new Map(nodes.map((n) => [n.id, n.namespace]));
    const p = layoutWith(
      nodes.map((n) => n.id),
      edges.map((e) => ({ source: e.source, target: e.destination })),
      {
        previous: previous.current,
        groupOf: state.group === 'namespace' ? (id) => nsOf.get(id) ?? '' : undefined,
      },
    );
    const merged = new Map(previous.current);
    for (const [k, v] of p) merged.set(k, v);
    previous.current = merged;
    return p;
    // layoutKey covers the grouping
  }, [nodes, edges, layoutKey]);
  const canvasNodes = useMemo(() => nodes.map(toCanvasNode), [nodes]);
  const canvasEdges = useMemo(() => toCanvasEdges(edges), [edges]);
  const highlight = useMemo(() => searchHits(nodes, state.find), [nodes, state.find]);
  return { nodes, edges, positions, canvasNodes, canvasEdges, highlight, layoutKey };
}

export function MapView({
  data,
  state,
  set,
  rangeParams,
}: {
  data: ServiceMap;
  state: MapState;
  set: (patch: Partial<MapState>) => void;
  rangeParams: URLSearchParams;
}) {
  const m = useMapModel(data, state);
  const node = state.node ? data.nodes.find((n) => n.id === state.node) : undefined;
  const edge = state.edge ? data.edges.find((e) => e.id === state.edge) : undefined;
  const seconds = Math.max(1, (data.until - data.since) / 1000);
  return (
    <div className="map-layout">
      <div className="panel map-canvas">
        {m.edges.length === 0 ? (
          <div className="empty tall">{state.errorsOnly ? 'No failing edges in this window.' : 'No edges match.'}</div>
        ) : (
          <MapCanvas
            nodes={m.canvasNodes}
            edges={m.canvasEdges}
            positions={m.positions}
            groups={state.group !== 'none'}
            highlight={m.highlight}
            selectedNode={state.node}
            selectedEdge={state.edge}
            onNodeClick={(id) => set({ node: id, edge: null })}
            onEdgeClick={(id) => set({ edge: id, node: null })}
            onBackgroundClick={() => (state.node || state.edge) && set({ node: null, edge: null })}
            fitKey={`${m.layoutKey}|${state.namespace}|${state.errorsOnly}`}
          />
        )}
        {m.edges.length > 0 && <NodeList nodes={m.canvasNodes} selected={state.node} onOpen={(id) => set({ node: id, edge: null })} />}
        <div className="map-legend">
          <span className="ok">● healthy</span>
          <span className="warn">● some errors</span>
          <span className="bad">● ≥ 5 % errors</span>
          <span
            className="muted"
            title="one line per caller → callee pair, all protocols on it; a pair with only dropped packets is dashed"
          >
            ┄ drops only
          </span>
          <span className="muted">
            {m.nodes.length} services · {m.edges.length} edges · drag to pan, wheel to zoom
          </span>
        </div>
      </div>
      <div className="panel map-side">
        {node ? (
          <NodePanel
            node={node}
            edges={data.edges}
            seconds={seconds}
            rangeParams={rangeParams}
            mapWindow={{ since: data.since, until: data.until }}
            onClose={() => set({ node: null })}
            onPeer={(id) => set({ node: id })}
          />
        ) : edge ? (
          <EdgePanel edge={edge} rangeParams={rangeParams} onClose={() => set({ edge: null })} />
        ) : (
          <EdgesTable edges={m.edges} rangeParams={rangeParams} />
        )}
      </div>
    </div>
  );
}
