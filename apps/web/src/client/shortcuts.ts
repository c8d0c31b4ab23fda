/**
 * Keyboard shortcuts as a small state machine (pure, tested): `/` focuses the filter, `g` then `m` / `f` /
 * `d` / `c` navigates, `t` toggles the theme, `?` shows the help. Keys typed into form fields are ignored.
 */
export type ShortcutAction = { kind: 'focus' } | { kind: 'go'; href: string } | { kind: 'theme' } | { kind: 'help' } | null;

export const GO: Record<string, string> = { m: '/map', f: '/flows', d: '/dashboards', c: '/collectors' };
const CHORD_MS = 1200;

export interface ShortcutState {
  pendingG: number | null;
}

export function nextShortcut(
  state: ShortcutState,
  key: string,
  now: number,
  inField: boolean,
  modifier: boolean,
): { state: ShortcutState; action: ShortcutAction } {
  if (inField || modifier) return { state: { pendingG: null }, action: null };
  if (state.pendingG !== null && now - state.pendingG <= CHORD_MS) {
    const href = GO[key];
    return { state: { pendingG: null }, action: href ? { kind: 'go', href } : null };
  }
  if (key === 'g') return { state: { pendingG: now }, action: null };
  if (key === '/') return { state: { pendingG: null }, action: { kind: 'focus' } };
  if (key === 't') return { state: { pendingG: null }, action: { kind: 'theme' } };
  if (key === '?') return { state: { pendingG: null }, action: { kind: 'help' } };
  return { state: { pendingG: null }, action: null };
}
