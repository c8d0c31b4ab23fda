'use client';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useRef, useState } from 'react';
import { nextShortcut, type ShortcutState } from '../src/client/shortcuts';
import { currentTheme, toggleTheme } from '../src/client/theme';
import { fromLocalInput, parseRange, RANGES, toLocalInput, withAbsoluteRange, withRelativeRange } from '../src/client/time-range';

const PAGES = [
  ['/map', 'Service map', 'g m'],
  ['/flows', 'Flows', 'g f'],
  ['/dashboards', 'Dashboards', 'g d'],
  ['/collectors', 'Collectors', 'g c'],
] as const;

/** Relative ranges in a select; "custom…" opens two date-time fields for an absolute range. */
function RangePicker() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const range = parseRange(params);
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const go = (p: URLSearchParams) => router.push(`${pathname}?${p.toString()}`, { scroll: false });
  return (
    <div className="range-picker">
      <select
        aria-label="time range"
        value={range.absolute ? 'custom' : (params.get('range') ?? '1h')}
        onChange={(e) => {
          if (e.target.value === 'custom') {
            setFrom(toLocalInput(range.since));
            setTo(toLocalInput(range.until));
            setOpen(true);
          } else go(withRelativeRange(params, e.target.value));
        }}
      >
        {Object.keys(RANGES).map((r) => (
          <option key={r} value={r}>
            last {r}
          </option>
        ))}
        <option value="custom">{range.absolute ? range.label : 'custom…'}</option>
      </select>
      {range.absolute && (
        <button
          className="secondary"
          title="edit the absolute range"
          onClick={() => {
            setFrom(toLocalInput(range.since));
            setTo(toLocalInput(range.until));
            setOpen(true);
          }}
        >
          edit
        </button>
      )}
      {open && (
        <form
          className="range-pop"
          onSubmit={(e) => {
            e.preventDefault();
            const s = fromLocalInput(from);
            const u = fromLocalInput(to);
            if (s === null || u === null) return setErr('enter both times');
            if (s >= u) return setErr('"from" must be before "to"');
            setErr(null);
            setOpen(false);
            go(withAbsoluteRange(params, s, u));
          }}
        >
          <label>
            from
            <input type="datetime-local" aria-label="from time" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            to
            <input type="datetime-local" aria-label="to time" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          {err && <span className="error">{err}</span>}
          <div className="row">
            <button type="submit">Apply range</button>
            <button type="button" className="secondary" onClick={() => setOpen(false)}>
              cancel
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

function Shortcuts({ onHelp }: { onHelp: () => void }) {
  const router = useRouter();
  const state = useRef<ShortcutState>({ pendingG: null });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const inField = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      const r = nextShortcut(state.current, e.key, Date.now(), inField, e.ctrlKey || e.metaKey || e.altKey);
      state.current = r.state;
      if (!r.action) return;
      e.preventDefault();
      if (r.action.kind === 'focus') (document.querySelector('[data-shortcut="filter"]') as HTMLInputElement | null)?.focus();
      else if (r.action.kind === 'go') {
        const keep = new URLSearchParams(window.location.search);
        const range = new URLSearchParams();
        for (const k of ['range', 'since', 'until']) if (keep.get(k)) range.set(k, keep.get(k) as string);
        router.push(`${r.action.href}${range.size ? `?${range.toString()}` : ''}`);
      } else if (r.action.kind === 'theme') toggleTheme();
      else onHelp();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [router, onHelp]);
  return null;
}

function ThemeButton() {
  const [theme, setTheme] = useState<'light' | 'dark' | null>(null);
  useEffect(() => {
    const update = () => setTheme(currentTheme());
    update();
    window.addEventListener('sextant-theme', update);
    return () => window.removeEventListener('sextant-theme', update);
  }, []);
  return (
    <button
      className="secondary"
      aria-label="toggle dark mode"
      title="toggle theme (t)"
      onClick={() => setTheme(toggleTheme())}
      style={{ width: 82 }}
    >
      {theme === 'light' ? '☾ dark' : theme === 'dark' ? '☀ light' : ' '}
    </button>
  );
}

/** Pages that show current state only: the range picker would do nothing there. */
const TIMELESS = ['/collectors', '/admin'];

export function TopBar() {
  const pathname = usePathname();
  const [help, setHelp] = useState(false);
  useEffect(() => {
    if (!help) return;
    const close = (e: KeyboardEvent) => e.key === 'Escape' && setHelp(false);
    window.addEventListener('keydown', close);
    return () => window.removeEventListener('keydown', close);
  }, [help]);
  if (pathname === '/login') return null;
  return (
    <header className="top">
      <span className="brand">◈ Sextant</span>
      <nav>
        {PAGES.map(([href, label, keys]) => (
          <Link key={href} href={href} title={keys} className={pathname.startsWith(href) ? 'active' : ''}>
            {label}
          </Link>
        ))}
      </nav>
      <span className="spacer" />
      {/* Collectors and admin show current state: no time range applies there. */}
      {!TIMELESS.some((p) => pathname.startsWith(p)) && (
        <Suspense>
          <RangePicker />
        </Suspense>
      )}
      <ThemeButton />
      <button className="secondary" aria-label="keyboard shortcuts" title="keyboard shortcuts (?)" onClick={() => setHelp(true)}>
        ?
      </button>
      <Shortcuts onHelp={() => setHelp(true)} />
      {help && (
        <div className="help" onClick={() => setHelp(false)}>
          <div className="panel" onClick={(e) => e.stopPropagation()}>
            <h3>Keyboard shortcuts</h3>
            <table>
              <tbody>
                <tr>
                  <td>
                    <kbd>/</kbd>
                  </td>
                  <td>focus the filter / search</td>
                </tr>
                {PAGES.map(([href, label, keys]) => (
                  <tr key={href}>
                    <td>
                      {keys.split(' ').map((k) => (
                        <kbd key={k}>{k}</kbd>
                      ))}
                    </td>
                    <td>go to {label}</td>
                  </tr>
                ))}
                <tr>
                  <td>
                    <kbd>Esc</kbd>
                  </td>
                  <td>close the detail drawer / side panel</td>
                </tr>
                <tr>
                  <td>
                    <kbd>t</kbd>
                  </td>
                  <td>toggle dark / light</td>
                </tr>
                <tr>
                  <td>
                    <kbd>?</kbd>
                  </td>
                  <td>this help</td>
                </tr>
              </tbody>
            </table>
          </div>
        </div>
      )}
    </header>
  );
}
