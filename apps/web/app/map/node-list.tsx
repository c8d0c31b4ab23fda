'use client';
/**
 * The map's nodes for the keyboard: a list of every service drawn, reached with Tab (it appears over the
 * canvas while focus is inside it, so the picture stays uncluttered for the mouse), moved through with the
 * arrow keys, Home and End; Enter or Space opens the service's panel, as a click on its circle does.
 */
import { useRef } from 'react';
import type { CanvasNode } from '../../src/client/map-paint';

const TONE: Record<string, string> = { bad: 'bad', warn: 'warn' };

export function NodeList({ nodes, selected, onOpen }: { nodes: CanvasNode[]; selected: string | null; onOpen: (id: string) => void }) {
  const list = useRef<HTMLUListElement>(null);
  const sorted = [...nodes].sort((a, b) => a.label.localeCompare(b.label));
  // One tab stop for the whole list (the open service, else the first): Tab passes it, the arrows move inside.
  const entry = sorted.some((n) => n.id === selected) ? selected : (sorted[0]?.id ?? null);
  const move = (from: HTMLElement, key: string) => {
    const items = [...(list.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const i = items.indexOf(from as HTMLButtonElement);
    const to = key === 'ArrowDown' ? i + 1 : key === 'ArrowUp' ? i - 1 : key === 'Home' ? 0 : items.length - 1;
    items[Math.max(0, Math.min(items.length - 1, to))]?.focus();
  };
  return (
    <nav className="map-keys" aria-label="services on the map (keyboard)">
      <div className="muted">{sorted.length} services · ↑↓ to move, Enter to open</div>
      <ul ref={list}>
        {sorted.map((n) => (
          <li key={n.id}>
            <button
              type="button"
              className={`secondary ${TONE[n.level] ?? ''}`}
              aria-current={n.id === selected ? 'true' : undefined}
              data-node={n.id}
              tabIndex={n.id === entry ? 0 : -1}
              onClick={() => onOpen(n.id)}
              onKeyDown={(e) => {
                if (['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) {
                  e.preventDefault();
                  move(e.currentTarget, e.key);
                }
              }}
            >
              {n.label}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
