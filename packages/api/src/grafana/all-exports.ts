/** Every export the API can produce (each dashboard, and each of its panels alone, in both flavours): the test matrix. */
import { buildDashboard, DASHBOARD_KINDS, DASHBOARD_PANELS, type GrafanaExportInput } from './dashboards';
import { FLAVOURS, panelAvailable } from './panels';
import type { GrafanaDashboard } from './schema-types';

export function allExportInputs(extra: Partial<GrafanaExportInput> = {}): GrafanaExportInput[] {
  const out: GrafanaExportInput[] = [];
  for (const dashboard of DASHBOARD_KINDS) {
    for (const flavour of FLAVOURS) {
      out.push({ dashboard, flavour, ...extra });
      for (const panel of DASHBOARD_PANELS[dashboard])
        if (panelAvailable(panel, flavour)) out.push({ dashboard, flavour, panel, ...extra });
    }
  }
  return out;
}

export function allExports(extra: Partial<GrafanaExportInput> = {}): { input: GrafanaExportInput; dashboard: GrafanaDashboard }[] {
  return allExportInputs(extra).map((input) => ({ input, dashboard: buildDashboard(input) }));
}
