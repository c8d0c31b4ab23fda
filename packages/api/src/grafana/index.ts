/** Grafana export: dashboards and panels as Grafana JSON over Sextant's rollups (PostgreSQL) or /api/metrics (Prometheus). */
export { buildDashboard, DASHBOARD_KINDS, DASHBOARD_PANELS, GrafanaExportInput, type DashboardKind } from './dashboards';
export { buildPanel, FLAVOURS, PANEL_IDS, panelAvailable, type Flavour, type PanelId } from './panels';
export type { GrafanaDashboard, GrafanaPanel } from './schema-types';
