/**
 * The UI's two palettes, each written once, as the CSS the root layout puts in <head>: dark by default, light
 * when the user picked it (data-theme, see theme.ts) or picked nothing and the system prefers light. Plain CSS
 * cannot say "this media query or that attribute" in one rule, so the light rule is generated for both.
 */
export const PALETTE_VARS = ['bg', 'panel', 'panel2', 'line', 'text', 'muted', 'accent', 'ok', 'warn', 'bad', 'sel'] as const;
type Palette = Record<(typeof PALETTE_VARS)[number], string> & { scheme: 'dark' | 'light' };

export const DARK: Palette = {
  bg: '#0f1419',
  panel: '#171d24',
  panel2: '#1d252e',
  line: '#263040',
  text: '#dfe6ee',
  muted: '#8a98a8',
  accent: '#4aa3ff',
  ok: '#3fb950',
  warn: '#d29922',
  bad: '#f85149',
  sel: 'rgba(74, 163, 255, 0.16)',
  scheme: 'dark',
};

export const LIGHT: Palette = {
  bg: '#f6f8fa',
  panel: '#ffffff',
  panel2: '#f0f3f6',
  line: '#d0d7de',
  text: '#1f2328',
  muted: '#57606a',
  accent: '#0969da',
  ok: '#1a7f37',
  warn: '#9a6700',
  bad: '#cf222e',
  sel: 'rgba(9, 105, 218, 0.12)',
  scheme: 'light',
};

const declarations = (p: Palette) => PALETTE_VARS.map((k) => `--${k}: ${p[k]};`).join(' ') + ` color-scheme: ${p.scheme};`;

export const THEME_CSS = [
  `:root { ${declarations(DARK)} }`,
  `@media (prefers-color-scheme: light) { :root:not([data-theme]) { ${declarations(LIGHT)} } }`,
  `:root[data-theme='light'] { ${declarations(LIGHT)} }`,
].join('\n');
