'use client';
/** The hubble-style filter line with autocomplete of flags, known services and enumerated values. */
import { useRef, useState } from 'react';
import { applyCompletion, completeFilter, type Completion } from '../../src/client/filter-complete';

export function FilterBar({
  value,
  onApply,
  services,
  children,
}: {
  value: string;
  onApply: (q: string) => void;
  services: { name: string; namespace: string }[];
  children?: React.ReactNode;
}) {
  const [text, setText] = useState(value);
  const [shown, setShown] = useState(value);
  const [completion, setCompletion] = useState<Completion | null>(null);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  if (value !== shown) {
    // The URL changed (back button, link): show its filter.
    setShown(value);
    setText(value);
  }
  const refresh = (t: string, caret: number) => {
    setCompletion(completeFilter(t, caret, services));
    setActive(0);
  };
  const choose = (option: string) => {
    if (!completion) return;
    const next = applyCompletion(text, completion, option);
    setText(next.text);
    setCompletion(null);
    requestAnimationFrame(() => {
      input.current?.setSelectionRange(next.caret, next.caret);
      input.current?.focus();
    });
  };
  return (
    <form
      className="panel row filterbar"
      onSubmit={(e) => {
        e.preventDefault();
        setCompletion(null);
        onApply(text.trim());
      }}
    >
      <div className="complete-wrap">
        <input
          ref={input}
          data-shortcut="filter"
          aria-label="hubble observe flags"
          autoComplete="off"
          spellCheck={false}
          placeholder="hubble observe flags, e.g. --to-service payments --http-status 5+ --not --verdict FORWARDED   (press / to focus)"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            refresh(e.target.value, e.target.selectionStart ?? e.target.value.length);
          }}
          onFocus={(e) => refresh(e.target.value, e.target.selectionStart ?? e.target.value.length)}
          onBlur={() => setTimeout(() => setCompletion(null), 150)}
          onKeyDown={(e) => {
            if (!completion) return;
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              setActive((a) => (a + 1) % completion.options.length);
            } else if (e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((a) => (a - 1 + completion.options.length) % completion.options.length);
            } else if (e.key === 'Tab') {
              e.preventDefault();
              choose(completion.options[active] as string);
            } else if (e.key === 'Escape') {
              e.stopPropagation();
              setCompletion(null);
            }
          }}
        />
        {completion && (
          <ul className="complete" role="listbox" aria-label="suggestions">
            {completion.options.map((o, i) => (
              <li
                key={o}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : ''}
                onMouseDown={(e) => {
                  e.preventDefault();
                  choose(o);
                }}
              >
                {o}
              </li>
            ))}
          </ul>
        )}
      </div>
      <button type="submit">Apply</button>
      {children}
    </form>
  );
}
