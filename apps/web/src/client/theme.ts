/** Theme: follows prefers-color-scheme until the user picks one; the pick is kept in localStorage. */
export const THEME_KEY = 'sextant-theme';

/** Runs before first paint (inline in <head>) so a stored choice never flashes the other theme. */
export const THEME_BOOT = `try{var t=localStorage.getItem('${THEME_KEY}');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}`;

export function currentTheme(): 'light' | 'dark' {
  const set = document.documentElement.dataset.theme;
  if (set === 'light' || set === 'dark') return set;
  return window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function toggleTheme(): 'light' | 'dark' {
  const next = currentTheme() === 'light' ? 'dark' : 'light';
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch {
    // private mode: the choice lasts for this page only
  }
  window.dispatchEvent(new Event('sextant-theme'));
  return next;
}
