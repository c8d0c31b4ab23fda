/** Grafana export: a dashboard or single panel as Grafana dashboard JSON, in the PostgreSQL or Prometheus flavour. */
import { buildDashboard, GrafanaExportInput } from '../grafana';
import { router, userProcedure } from '../trpc';

export const grafanaRouter = router({
  export: userProcedure.input(GrafanaExportInput).query(({ input }) => buildDashboard(input)),
});
