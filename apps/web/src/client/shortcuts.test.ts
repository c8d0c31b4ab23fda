import { describe, expect, it } from 'vitest';
import { nextShortcut, type ShortcutState } from './shortcuts';

function press(keys: [string, number][], inField = false) {
  let s: ShortcutState = { pendingG: null };
  const actions = [];
  for (const [k, t] of keys) {
    const r = nextShortcut(s, k, t, inField, false);
    s = r.state;
    actions.push(r.action);
  }
  return actions;
}

describe('keyboard shortcuts', () => {
  it('navigates with g-chords and focuses the filter with /', () => {
    expect(
      press([
        ['g', 0],
        ['m', 300],
      ]),
    ).toEqual([null, { kind: 'go', href: '/map' }]);
    expect(
      press([
        ['g', 0],
        ['f', 100],
        ['g', 200],
        ['d', 300],
      ])[3],
    ).toEqual({ kind: 'go', href: '/dashboards' });
    expect(press([['/', 0]])).toEqual([{ kind: 'focus' }]);
    expect(
      press([
        ['t', 0],
        ['?', 1],
      ]),
    ).toEqual([{ kind: 'theme' }, { kind: 'help' }]);
  });
  it('drops a stale or unknown chord and ignores typing in fields', () => {
    expect(
      press([
        ['g', 0],
        ['m', 5000],
      ]),
    ).toEqual([null, null]);
    expect(
      press([
        ['g', 0],
        ['x', 10],
        ['m', 20],
      ]),
    ).toEqual([null, null, null]);
    expect(
      press(
        [
          ['/', 0],
          ['g', 1],
          ['m', 2],
        ],
        true,
      ),
    ).toEqual([null, null, null]);
  });
});
