/**
 * Dashboard builders: the overview, the per-service dashboard, the service map, or any single panel of
 * them, as Grafana dashboard JSON (classic model, current schema version) with the data source, namespace,
 * service and collector variables.
 */
import { z } from 'zod';
import { buildPanel, DATASOURCE_TYPE, datasourceRef, type Flavour, FLAVOURS, PANEL_IDS, type PanelId, panelAvailable } from './panels';
import { PROMQL_VARIABLES } from './promql-queries';
import { type GrafanaDashboard, type GrafanaPanel, type GrafanaVariable, SCHEMA_VERSION } from './schema-types';
import { SQL_VARIABLES } from './sql-queries';

export const DASHBOARD_KINDS = ['overview', 'service', 'map'] as const;
export type DashboardKind = (typeof DASHBOARD_KINDS)[number];

export const DASHBOARD_PANELS: Record<DashboardKind, readonly PanelId[]> = {
  overview: ['requests', 'errors', 'connections', 'latency', 'bytes', 'drops', 'collectors', 'map'],
  service: ['requests', 'errors', 'connections', 'latency', 'bytes', 'drops', 'map'],
  map: ['map'],
};

const name = z.string().trim().min(1).max(253);

export const GrafanaExportInput = z
  .object({
    dashboard: z.enum(DASHBOARD_KINDS),
    flavour: z.enum(FLAVOURS),
    /** Preselected service (the variable stays editable in Grafana). */
    service: name.optional(),
    namespace: z.string().max(253).optional(),
    /** Export only this panel of the dashboard. */
    panel: z.enum(PANEL_IDS).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.panel && !DASHBOARD_PANELS[v.dashboard].includes(v.panel)) {
      ctx.addIssue({
        code: 'custom',
        path: ['panel'],
        message: `the ${v.dashboard} dashboard has no ${v.panel} panel (it has ${DASHBOARD_PANELS[v.dashboard].join(', ')})`,
      });
    }
    if (v.panel && !panelAvailable(v.panel, v.flavour)) {
      ctx.addIssue({
        code: 'custom',
        path: ['panel'],
        message: `the ${v.panel} panel needs the PostgreSQL flavour (Hubble metrics have no byte counters)`,
      });
    }
  });
export type GrafanaExportInput = z.infer<typeof GrafanaExportInput>;

const ALL = { text: 'All', value: ['$__all'], selected: true };

function current(value: string | undefined) {
  return value === undefined ? ALL : { text: value === '' ? '(none)' : value, value: [value], selected: true };
}

function variables(input: GrafanaExportInput): GrafanaVariable[] {
  const flavour = input.flavour;
  const queries = flavour === 'postgres' ? SQL_VARIABLES : PROMQL_VARIABLES;
  const query = (varName: 'namespace' | 'service' | 'collector', label: string, value: string | undefined): GrafanaVariable => ({
    type: 'query',
    name: varName,
    label,
    datasource: datasourceRef(flavour),
    query: queries[varName],
    multi: true,
    includeAll: true,
    current: current(value),
    refresh: 2,
    sort: 1,
    hide: 0,
    options: [],
  });
  return [
    { type: 'datasource', name: 'datasource', label: 'Data source', query: DATASOURCE_TYPE[flavour], hide: 0, refresh: 1, options: [] },
    query('namespace', 'Namespace', input.namespace),
    query('service', 'Service', input.service),
    query('collector', 'Collector', undefined),
  ];
}

/** Two panels per row, the map full width at the end. */
function layout(panels: GrafanaPanel[]): GrafanaPanel[] {
  let x = 0;
  let y = 0;
  return panels.map((p, i) => {
    const wide = p.type === 'nodeGraph' || panels.length === 1;
    if (wide && x !== 0) {
      x = 0;
      y += 8;
    }
    const gridPos = { x, y, w: wide ? 24 : 12, h: wide ? 14 : 8 };
    if (wide) y += 14;
    else if (x === 0) x = 12;
    else {
      x = 0;
      y += 8;
    }
    return { ...p, id: i + 1, gridPos };
  });
}

const TITLES: Record<DashboardKind, string> = { overview: 'Overview', service: 'Service', map: 'Service map' };
const FLAVOUR_TITLES: Record<Flavour, string> = { postgres: 'PostgreSQL', prometheus: 'Prometheus' };

export function buildDashboard(input: GrafanaExportInput): GrafanaDashboard {
  const scope = input.dashboard === 'service' ? 'service' : 'overview';
  const ids = input.panel ? [input.panel] : DASHBOARD_PANELS[input.dashboard].filter((id) => panelAvailable(id, input.flavour));
  const panels = layout(ids.map((id) => buildPanel(id, input.flavour, scope)));
  const what = input.panel ? `${TITLES[input.dashboard]} · ${panels[0]?.title ?? input.panel}` : TITLES[input.dashboard];
  const suffix = input.dashboard === 'service' && input.service ? ` · ${input.service}` : '';
  return {
    uid: `sextant-${input.dashboard}${input.panel ? `-${input.panel}` : ''}-${input.flavour === 'postgres' ? 'pg' : 'prom'}`,
    title: `Sextant · ${what}${suffix} (${FLAVOUR_TITLES[input.flavour]})`,
    description: 'Exported from Sextant. Import it in Grafana (Dashboards → New → Import) and pick the data source.',
    tags: ['sextant', input.flavour],
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    refresh: '30s',
    fiscalYearStartMonth: 0,
    links: [],
    annotations: { list: [] },
    templating: { list: variables(input) },
    panels,
  };
}
