/**
 * Grafana's published dashboard types (@grafana/schema, the classic dashboard JSON model) as plain JSON:
 * TypeScript enums become the union of their values, so the builders are type-checked against the schema
 * while emitting ordinary JSON. Type-only imports: nothing of @grafana/schema is loaded at run time.
 */
import type { Dashboard, DataSourceRef, Panel, VariableModel } from '@grafana/schema';
import type { Options as NodeGraphOptions } from '@grafana/schema/dist/esm/raw/composable/nodegraph/panelcfg/x/NodeGraphPanelCfg_types.gen';
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** A type with every enum replaced by its literal values, recursively. */
export type Plain<T> = T extends string
  ? `${T}`
  : T extends readonly (infer U)[]
    ? Plain<U>[]
    : T extends object
      ? { [K in keyof T]: Plain<T[K]> }
      : T;

export type GrafanaDashboard = Plain<Dashboard>;
export type GrafanaPanel = Plain<Panel>;
export type GrafanaVariable = Plain<VariableModel>;
export type GrafanaDataSourceRef = Plain<DataSourceRef>;
export type GrafanaTimeSeriesOptions = Plain<TimeSeriesOptions>;
export type GrafanaNodeGraphOptions = Plain<NodeGraphOptions>;

/** The dashboard schema version the builders target (the one @grafana/schema's defaultDashboard carries). */
export const SCHEMA_VERSION = 42;
