/**
 * Routers never touch Prisma or SQL: packages/db is the only data layer (ARCHITECTURE.md, "Packages and who
 * may import whom"). A procedure validates its input and calls a named packages/db function; it may hand that
 * function the handles it needs (`ctx.db.pool`, `ctx.db.prisma`), but never queries through them itself.
 * Scans every non-test source file of packages/api (harnesses under src/testing/ included).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;

const RULES: [string, RegExp][] = [
  ['imports Prisma', /from\s+['"](?:@prisma\/[^'"]*|[^'"]*generated\/prisma[^'"]*)['"]/],
  ['imports the pg driver', /from\s+['"]pg(?:-copy-streams)?['"]/],
  ['queries through the Prisma client', /\.prisma\.[\w$]/],
  ['runs raw SQL through Prisma', /\$(?:queryRaw|executeRaw|queryRawUnsafe|executeRawUnsafe|transaction)\b/],
  ['runs SQL on a pool', /\b(?:pool|queryPool|Pool)\.(?:query|connect)\(/],
];

/** Files allowed to break a rule, each with the reason. None today; add only with a comment and an issue. */
const EXCEPTIONS: Record<string, string> = {};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    // *.citus-test.ts: tests only the Citus run includes (packages/db/vitest.citus.config.ts).
    return e.name.endsWith('.ts') && !/\.(citus-)?test\.ts$/.test(e.name) ? [path] : [];
  });
}

function violations(text: string): string[] {
  return RULES.filter(([, re]) => re.test(text)).map(([what]) => what);
}

describe('layering: packages/api touches no Prisma and no SQL', () => {
  it('finds the rules break on code that does', () => {
    expect(violations(`import { PrismaClient } from '@prisma/client';`)).toEqual(['imports Prisma']);
    expect(violations(`await ctx.db.prisma.collector.findMany({})`)).toEqual(['queries through the Prisma client']);
    expect(violations(`await ctx.db.prisma.$queryRaw\`SELECT 1\``)).toEqual([
      'queries through the Prisma client',
      'runs raw SQL through Prisma',
    ]);
    expect(violations(`await db.pool.query('SELECT 1')`)).toEqual(['runs SQL on a pool']);
    expect(violations(`await ctx.db.queryPool.query(sql)`)).toEqual(['runs SQL on a pool']);
    expect(violations(`import pg from 'pg';`)).toEqual(['imports the pg driver']);
    expect(violations(`await listCollectors(ctx.db.prisma); await searchFlows(ctx.db.pool, q);`)).toEqual([]);
  });

  it('holds for every non-test source file', () => {
    const files = sources(SRC);
    expect(files.some((f) => f.endsWith(join('routers', 'ingest.ts')))).toBe(true);
    const found = files.flatMap((f) => {
      const name = relative(SRC, f);
      return violations(readFileSync(f, 'utf8'))
        .filter(() => !(name in EXCEPTIONS))
        .map((what) => `${name} ${what}`);
    });
    expect(found, 'move the query into packages/db as a named function and call it').toEqual([]);
  });
});
