/**
 * What Grafana does to a query before it reaches the database, reimplemented for the tests that run the
 * exported queries: template variables interpolated as the SQL and Prometheus data sources do (multi-value →
 * quoted list / regex alternation), built-in interval variables, then the PostgreSQL data source's macros
 * ($__timeFilter, $__timeGroup, $__timeGroupAlias, $__timeFrom, $__timeTo) as its backend expands them.
 */
export interface GrafanaQueryContext {
  from: Date;
  to: Date;
  /** $__interval, e.g. "1m". */
  interval: string;
  /** Values of the dashboard variables (multi-value). */
  vars: Record<string, string[]>;
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

export function intervalSeconds(interval: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(interval.trim());
  if (!m?.[1] || !m[2]) throw new Error(`bad interval ${interval}`);
  return Number(m[1]) * (UNIT_SECONDS[m[2]] ?? 1);
}

function builtins(ctx: GrafanaQueryContext): [string, string][] {
  const rangeS = Math.round((ctx.to.getTime() - ctx.from.getTime()) / 1000);
  const iv = intervalSeconds(ctx.interval);
  // Longest names first, so $__interval_ms is not read as $__interval followed by "_ms".
  return [
    ['$__rate_interval', ctx.interval],
    ['$__interval_ms', String(iv * 1000)],
    ['$__interval', ctx.interval],
    ['$__range_s', String(rangeS)],
    ['$__range', `${rangeS}s`],
  ];
}

function replaceVars(query: string, ctx: GrafanaQueryContext, format: (values: string[]) => string): string {
  let out = query;
  for (const [k, v] of builtins(ctx)) out = out.split(k).join(v);
  return out.replace(/\$\{?([A-Za-z_]\w*)\}?/g, (whole, name: string) => {
    const values = ctx.vars[name];
    return values ? format(values) : whole;
  });
}

/** SQL data sources quote each value of a multi-value variable and join them with commas. */
export function interpolateSql(query: string, ctx: GrafanaQueryContext): string {
  return replaceVars(query, ctx, (values) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(','));
}

/** The Prometheus data source regex-escapes each value and joins several as an alternation. */
export function interpolatePromql(query: string, ctx: GrafanaQueryContext): string {
  const escape = (v: string) => v.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&');
  return replaceVars(query, ctx, (values) => (values.length === 1 ? escape(values[0] ?? '') : `(${values.map(escape).join('|')})`));
}

function macroArgs(s: string): string[] {
  return s.split(',').map((a) => a.trim().replace(/^'(.*)'$/, '$1'));
}

/** The PostgreSQL data source's macro engine, on an already interpolated query. */
export function expandPostgresMacros(sql: string, ctx: GrafanaQueryContext): string {
  const from = `'${ctx.from.toISOString()}'`;
  const to = `'${ctx.to.toISOString()}'`;
  return sql.replace(/\$__(\w+)\(([^)]*)\)/g, (whole, macro: string, rawArgs: string) => {
    const args = macroArgs(rawArgs);
    const group = () => {
      const n = intervalSeconds(args[1] ?? '');
      return `floor(extract(epoch from ${args[0]})/${n})*${n}`;
    };
    switch (macro) {
      case 'timeFilter':
        return `${args[0]} BETWEEN ${from} AND ${to}`;
      case 'timeFrom':
        return from;
      case 'timeTo':
        return to;
      case 'timeGroup':
        return group();
      case 'timeGroupAlias':
        return `${group()} AS "time"`;
      default:
        throw new Error(`unsupported macro ${whole}`);
    }
  });
}

export function grafanaSql(sql: string, ctx: GrafanaQueryContext): string {
  return expandPostgresMacros(interpolateSql(sql, ctx), ctx);
}
