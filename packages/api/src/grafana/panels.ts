/**
 * Panel builders for both flavours: each Sextant panel (L7 requests, their errors, connections, latency,
 * bytes, drops, collector health, service map) as a Grafana panel with its queries, unit and layout.
 */
import { PROMQL } from './promql-queries';
import type { GrafanaDataSourceRef, GrafanaNodeGraphOptions, GrafanaPanel, GrafanaTimeSeriesOptions } from './schema-types';
import { type Scope, SQL } from './sql-queries';

export const FLAVOURS = ['postgres', 'prometheus'] as const;
export type Flavour = (typeof FLAVOURS)[number];

export const PANEL_IDS = ['requests', 'errors', 'connections', 'latency', 'bytes', 'drops', 'collectors', 'map'] as const;
export type PanelId = (typeof PANEL_IDS)[number];

export const DATASOURCE_TYPE: Record<Flavour, string> = { postgres: 'grafana-postgresql-datasource', prometheus: 'prometheus' };

/** Panels use the dashboard's data source variable, so the JSON imports into any Grafana. */
export function datasourceRef(flavour: Flavour): GrafanaDataSourceRef {
  return { type: DATASOURCE_TYPE[flavour], uid: '${datasource}' };
}

/** Panels each flavour can express (Hubble's metrics carry no byte counters). */
export function panelAvailable(id: PanelId, flavour: Flavour): boolean {
  return !(id === 'bytes' && flavour === 'prometheus');
}

type Target = Record<string, unknown>;

function sqlTarget(flavour: Flavour, refId: string, rawSql: string, format: 'time_series' | 'table'): Target {
  return { refId, datasource: datasourceRef(flavour), editorMode: 'code', format, rawQuery: true, rawSql };
}

function promTargets(flavour: Flavour, queries: readonly { expr: string; legend: string }[], table = false, refIds?: string[]): Target[] {
  return queries.map((q, i) => ({
    refId: refIds?.[i] ?? String.fromCharCode(65 + i),
    datasource: datasourceRef(flavour),
    editorMode: 'code',
    expr: q.expr,
    legendFormat: q.legend || '__auto',
    ...(table ? { format: 'table', instant: true, range: false } : { range: true }),
  }));
}

const TIMESERIES_OPTIONS: GrafanaTimeSeriesOptions = {
  legend: { calcs: [], displayMode: 'list', placement: 'bottom', showLegend: true },
  tooltip: { mode: 'multi', sort: 'desc' },
};

function timeseries(title: string, unit: string, targets: Target[], description: string): GrafanaPanel {
  return {
    type: 'timeseries',
    title,
    description,
    interval: '1m',
    fieldConfig: { defaults: { unit, min: 0 }, overrides: [] },
    options: { ...TIMESERIES_OPTIONS },
    targets,
  };
}

const NODE_GRAPH_OPTIONS: GrafanaNodeGraphOptions = {
  nodes: { mainStatUnit: 'short', secondaryStatUnit: 'percentunit' },
  edges: { mainStatUnit: 'short', secondaryStatUnit: 'percentunit' },
};

function serviceMap(flavour: Flavour, scope: Scope): GrafanaPanel {
  const description =
    'Sextant service map: nodes are workloads ("namespace/name"), one edge per caller → callee pair carrying its L7 requests and, for PostgreSQL, their error ratio and its connections (detail).';
  if (flavour === 'postgres') {
    return {
      type: 'nodeGraph',
      title: 'Service map',
      description,
      options: { ...NODE_GRAPH_OPTIONS },
      targets: [sqlTarget(flavour, 'nodes', SQL.mapNodes(scope), 'table'), sqlTarget(flavour, 'edges', SQL.mapEdges(scope), 'table')],
    };
  }
  return {
    type: 'nodeGraph',
    title: 'Service map',
    description,
    options: { ...NODE_GRAPH_OPTIONS, nodes: { mainStatUnit: 'short' }, edges: { mainStatUnit: 'short' } },
    targets: [
      ...promTargets(flavour, PROMQL.mapNodes(scope), true, ['nodes']),
      ...promTargets(flavour, PROMQL.mapEdges(scope), true, ['edges']),
    ],
    // Prometheus table frames name the value "Value" (or "Value #<refId>"): the Node Graph wants "mainstat".
    transformations: [
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true },
          renameByName: { Value: 'mainstat', 'Value #nodes': 'mainstat', 'Value #edges': 'mainstat' },
        },
      },
    ],
  };
}

/** One panel without layout; the dashboard builder assigns ids and grid positions. */
export function buildPanel(id: PanelId, flavour: Flavour, scope: Scope): GrafanaPanel {
  const pg = flavour === 'postgres';
  const on = scope === 'service' ? 'into $service' : 'into $namespace';
  switch (id) {
    case 'requests':
      return timeseries(
        'Requests / s',
        'reqps',
        pg ? [sqlTarget(flavour, 'A', SQL.requests(scope), 'time_series')] : promTargets(flavour, PROMQL.requests(scope)),
        `L7 requests (HTTP, DNS, Kafka exchanges) per second ${on}, by protocol; connections are their own panel.`,
      );
    case 'errors':
      return timeseries(
        'Error ratio',
        'percentunit',
        pg ? [sqlTarget(flavour, 'A', SQL.errors(scope), 'time_series')] : promTargets(flavour, PROMQL.errors(scope)),
        pg
          ? `Error responses (HTTP 5xx, DNS and Kafka errors) over L7 requests ${on}; failed connections are on the connections panel.`
          : `HTTP 5xx responses over all HTTP responses ${on}.`,
      );
    case 'connections':
      return timeseries(
        'Connections / s',
        'cps',
        pg ? [sqlTarget(flavour, 'A', SQL.connections(scope), 'time_series')] : promTargets(flavour, PROMQL.connections(scope)),
        pg
          ? `tcp/udp connections per second ${on} and the failed ones (refused, reset by the server, timed out), apart from requests.`
          : `L3/L4 flow records per second ${on}, by protocol and verdict (Hubble counts each record, interim reports of long connections included).`,
      );
    case 'latency':
      return timeseries(
        'Latency',
        's',
        pg ? [sqlTarget(flavour, 'A', SQL.latency(scope), 'time_series')] : promTargets(flavour, PROMQL.latency(scope)),
        pg ? `p50/p95/p99 of L7 latency ${on}, from merged histograms.` : `p50/p95/p99 of HTTP request duration ${on}.`,
      );
    case 'bytes':
      return timeseries(
        'Bytes / s',
        'Bps',
        [sqlTarget(flavour, 'A', SQL.bytes(scope), 'time_series')],
        `Bytes sent and received per second ${on}.`,
      );
    case 'drops':
      return timeseries(
        'Drops / s',
        'pps',
        pg ? [sqlTarget(flavour, 'A', SQL.drops(scope), 'time_series')] : promTargets(flavour, PROMQL.drops(scope)),
        `Dropped packets per second ${on}, by reason.`,
      );
    case 'collectors':
      return timeseries(
        'Collectors: events/s and lost events',
        'short',
        pg
          ? [sqlTarget(flavour, 'A', SQL.collectorEvents(), 'time_series'), sqlTarget(flavour, 'B', SQL.collectorLost(), 'time_series')]
          : promTargets(flavour, [...PROMQL.collectorEvents(), ...PROMQL.collectorLost()]),
        'Kernel events per second and events lost, per collector ($collector).',
      );
    case 'map':
      return serviceMap(flavour, scope);
  }
}
