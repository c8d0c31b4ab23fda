// Prisma CLI configuration. Uses the WASM/JS schema engine through the pg driver adapter so that
// `prisma generate` and `prisma migrate deploy` work with no network (the native engine download is
// unreachable from our machines; see ../shared/ENVIRONMENT.md).
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

// schema.prisma reads env("DATABASE_URL"); generation needs only a syntactically valid URL.
process.env.DATABASE_URL ??= 'postgresql://localhost:5432/sextant';
const connectionString = process.env.DATABASE_URL;

export default defineConfig({
  experimental: { adapter: true },
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  engine: 'js',
  adapter: async () => new PrismaPg({ connectionString }),
});
