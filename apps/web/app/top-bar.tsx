'use client';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { RANGES } from '../src/client/time-range';

const PAGES = [
  ['/map', 'Service map'],
  ['/flows', 'Flows'],
  ['/dashboards', 'Dashboards'],
  ['/collectors', 'Collectors'],
] as const;

function RangePicker() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const current = params.get('range') ?? '1h';
  return (
    <select
      aria-label="time range"
      value={current}
      onChange={(e) => {
        const next = new URLSearchParams(params.toString());
        next.set('range', e.target.value);
        next.delete('since');
        next.delete('until');
        router.push(`${pathname}?${next.toString()}`);
      }}
    >
      {Object.keys(RANGES).map((r) => (
        <option key={r} value={r}>
          last {r}
        </option>
      ))}
    </select>
  );
}

export function TopBar() {
  const pathname = usePathname();
  if (pathname === '/login') return null;
  return (
    <header className="top">
      <span className="brand">◈ Sextant</span>
      <nav>
        {PAGES.map(([href, label]) => (
          <Link key={href} href={href} className={pathname.startsWith(href) ? 'active' : ''}>
            {label}
          </Link>
        ))}
      </nav>
      <span className="spacer" />
      <Suspense>
        <RangePicker />
      </Suspense>
      <button
        className="secondary"
        onClick={() => {
          const root = document.documentElement;
          root.dataset.theme = root.dataset.theme === 'light' ? 'dark' : 'light';
        }}
      >
        theme
      </button>
    </header>
  );
}
