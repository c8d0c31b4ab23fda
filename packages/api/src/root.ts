import { adminRouter } from './routers/admin';
import { authRouter } from './routers/auth';
import { collectorsRouter } from './routers/collectors';
import { coverageRouter } from './routers/coverage';
import { dashboardsRouter } from './routers/dashboards';
import { drawerRouter } from './routers/drawer';
import { flowsRouter } from './routers/flows';
import { grafanaRouter } from './routers/grafana';
import { hubbleRouter } from './routers/hubble';
import { ingestRouter } from './routers/ingest';
import { servicemapRouter } from './routers/servicemap';
import { tokensRouter } from './routers/tokens';
import { router } from './trpc';

export const appRouter = router({
  admin: adminRouter,
  auth: authRouter,
  collectors: collectorsRouter,
  coverage: coverageRouter,
  dashboards: dashboardsRouter,
  drawer: drawerRouter,
  flows: flowsRouter,
  grafana: grafanaRouter,
  hubble: hubbleRouter,
  ingest: ingestRouter,
  servicemap: servicemapRouter,
  tokens: tokensRouter,
});

export type AppRouter = typeof appRouter;
