import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DARK, LIGHT, PALETTE_VARS, THEME_CSS } from './theme-palette';

describe('theme palettes', () => {
  it('defines every colour variable the stylesheet and components use, in both palettes', () => {
    const web = path.resolve(__dirname, '..', '..');
    const files = [path.join(web, 'app', 'globals.css')];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts')) files.push(p);
      }
    };
    walk(path.join(web, 'app'));
    walk(path.join(web, 'src', 'client'));
    const used = new Set<string>();
    for (const f of files)
      for (const m of fs
        .readFileSync(f, 'utf8')
        .matchAll(/var\(--([a-z0-9-]+)|getPropertyValue\(['"]?--([a-z0-9-]+)|v\('--([a-z0-9-]+)'\)/g))
        used.add(m[1] ?? m[2] ?? m[3]!);
    expect([...used].filter((v) => !(PALETTE_VARS as readonly string[]).includes(v))).toEqual([]);
    expect(used.size).toBeGreaterThan(5);
  });

  it('applies light for an explicit pick and for the system preference, the same palette in both rules', () => {
    const rules = THEME_CSS.split('\n');
    expect(rules).toHaveLength(3);
    expect(rules[0]).toContain(`--bg: ${DARK.bg};`);
    expect(rules[1]).toMatch(/^@media \(prefers-color-scheme: light\) \{ :root:not\(\[data-theme\]\) \{/);
    expect(rules[2]).toMatch(/^:root\[data-theme='light'\] \{/);
    const body = (r: string) => r.slice(r.lastIndexOf('{') + 1, r.indexOf('}')).trim();
    expect(body(rules[1]!)).toBe(body(rules[2]!));
    for (const k of PALETTE_VARS) expect(body(rules[2]!)).toContain(`--${k}: ${LIGHT[k]};`);
    expect(body(rules[2]!)).toContain('color-scheme: light;');
  });
});
