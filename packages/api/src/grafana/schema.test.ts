/**
 * Validates every exported dashboard against Grafana's published types (@grafana/schema 13): the emitted
 * JSON (not the builder code) is written into a TypeScript module as literals assigned to the schema types —
 * the dashboard to `Dashboard` (classic JSON model: panels, targets, variables, field config, grid), each
 * panel's options to its plugin's published `Options` (timeseries, nodeGraph) — and compiled with the
 * TypeScript compiler, so unknown properties, missing required fields and wrong enum values all fail.
 */
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { allExports } from './all-exports';
import { SCHEMA_VERSION } from './schema-types';

const HEADER = `import type { Dashboard } from '@grafana/schema';
import type { Options as NodeGraphOptions } from '@grafana/schema/dist/esm/raw/composable/nodegraph/panelcfg/x/NodeGraphPanelCfg_types.gen';
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
type Plain<T> = T extends string ? \`\${T}\` : T extends readonly (infer U)[] ? Plain<U>[] : T extends object ? { [K in keyof T]: Plain<T[K]> } : T;
`;

const OPTION_TYPES: Record<string, string> = { timeseries: 'TimeSeriesOptions', nodeGraph: 'NodeGraphOptions' };

function moduleFor(dashboards: unknown[]): string {
  const lines = [HEADER];
  dashboards.forEach((d, i) => {
    lines.push(`export const dashboard${i}: Plain<Dashboard> = ${JSON.stringify(d, null, 1)};`);
    const panels = (d as { panels?: { type: string; options?: unknown }[] }).panels ?? [];
    panels.forEach((p, j) => {
      const t = OPTION_TYPES[p.type];
      lines.push(
        t
          ? `export const options${i}_${j}: Plain<${t}> = ${JSON.stringify(p.options)};`
          : `throw new Error('no published options type for ${p.type}');`,
      );
    });
  });
  return lines.join('\n');
}

/** Type-checks a virtual module next to this file (so @grafana/schema resolves); returns the error messages. */
function typeErrors(source: string): string[] {
  const file = path.join(import.meta.dirname, '__grafana_schema_check__.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('Grafana export schema', () => {
  const exports = allExports({ service: 'payments', namespace: 'shop' });

  it('type-checks every exported dashboard and panel against @grafana/schema', () => {
    expect(exports.length).toBe(36); // overview 9 + 8, service 8 + 7, map 2 + 2
    expect(typeErrors(moduleFor(exports.map((e) => e.dashboard)))).toEqual([]);
  }, 120_000);

  it('fails on JSON that breaks the schema (the check can fail)', () => {
    const good = exports[0]!.dashboard;
    const errors = typeErrors(
      moduleFor([
        { ...good, panels: [{ ...good.panels?.[0], gridPos: { x: 0, y: 0, w: 12 } }] },
        { ...good, templating: { list: [{ name: 'x', type: 'dropdown' }] } },
        {
          ...good,
          panels: [
            {
              ...good.panels?.[0],
              options: {
                legend: { displayMode: 'sideways', placement: 'bottom', showLegend: true, calcs: [] },
                tooltip: { mode: 'multi', sort: 'desc' },
              },
            },
          ],
        },
        { ...good, schemaVersion: undefined },
      ]),
    );
    expect(errors.join('\n')).toMatch(/Property 'h' is missing/);
    expect(errors.join('\n')).toMatch(/"dropdown"/);
    expect(errors.join('\n')).toMatch(/"sideways"/);
    expect(errors.join('\n')).toMatch(/schemaVersion/);
  }, 120_000);

  it('uses the current schema version, unique panel ids, and a grid that does not overlap', async () => {
    const { defaultDashboard } = await import('@grafana/schema');
    expect(SCHEMA_VERSION).toBe(defaultDashboard.schemaVersion);
    for (const { dashboard } of exports) {
      const panels = dashboard.panels ?? [];
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      const cells = new Set<string>();
      for (const p of panels) {
        const g = 'gridPos' in p ? p.gridPos : undefined;
        expect(g).toBeDefined();
        for (let x = g!.x; x < g!.x + g!.w; x++)
          for (let y = g!.y; y < g!.y + g!.h; y++) {
            expect(cells.has(`${x},${y}`)).toBe(false);
            cells.add(`${x},${y}`);
          }
        expect(g!.x + g!.w).toBeLessThanOrEqual(24);
      }
      expect(dashboard.templating?.list?.map((v) => v.name)).toEqual(['datasource', 'namespace', 'service', 'collector']);
    }
  });
});
