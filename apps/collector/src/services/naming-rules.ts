/**
 * Service naming rules (a JSON file): the first rule whose every given matcher matches names the workload.
 * Matchers: cgroup path regex, process name regex, executable path regex, local port.
 *   [{ "service": "payments", "namespace": "prod", "match": { "process": "^payments-api$" } },
 *    { "service": "web", "match": { "port": 443 } }]
 */
import fs from 'node:fs';
import { z } from 'zod';

const regex = z
  .string()
  .max(512)
  .refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, 'invalid regular expression');

export const NamingRule = z.object({
  service: z.string().min(1).max(253),
  namespace: z.string().max(253).optional(),
  match: z
    .object({
      cgroup: regex.optional(),
      process: regex.optional(),
      exe: regex.optional(),
      port: z.number().int().min(1).max(65535).optional(),
    })
    .refine((m) => Object.values(m).some((v) => v !== undefined), 'a rule needs at least one matcher'),
});
export type NamingRule = z.infer<typeof NamingRule>;
export const NamingRules = z.array(NamingRule).max(10_000);

export interface WorkloadFacts {
  cgroupPath?: string;
  process?: string;
  exe?: string;
  localPort?: number;
}

interface Compiled {
  rule: NamingRule;
  cgroup?: RegExp;
  process?: RegExp;
  exe?: RegExp;
}

export class RuleSet {
  private readonly compiled: Compiled[];
  /** Some rule matches on the local port: the same process can be named differently per port. */
  readonly matchesPorts: boolean;

  constructor(rules: NamingRule[]) {
    this.matchesPorts = rules.some((r) => r.match.port !== undefined);
    this.compiled = rules.map((rule) => ({
      rule,
      cgroup: rule.match.cgroup ? new RegExp(rule.match.cgroup) : undefined,
      process: rule.match.process ? new RegExp(rule.match.process) : undefined,
      exe: rule.match.exe ? new RegExp(rule.match.exe) : undefined,
    }));
  }

  static fromFile(file: string): RuleSet {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read naming rules ${file}: ${(err as Error).message}`);
    }
    const parsed = NamingRules.safeParse(json);
    if (!parsed.success) {
      throw new Error(`invalid naming rules ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return new RuleSet(parsed.data);
  }

  match(f: WorkloadFacts): { service: string; namespace?: string } | null {
    for (const c of this.compiled) {
      const m = c.rule.match;
      if (c.cgroup && !(f.cgroupPath !== undefined && c.cgroup.test(f.cgroupPath))) continue;
      if (c.process && !(f.process !== undefined && c.process.test(f.process))) continue;
      if (c.exe && !(f.exe !== undefined && c.exe.test(f.exe))) continue;
      if (m.port !== undefined && m.port !== f.localPort) continue;
      return { service: c.rule.service, ...(c.rule.namespace ? { namespace: c.rule.namespace } : {}) };
    }
    return null;
  }
}
