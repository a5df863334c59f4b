// The drawers on the right ("Data & herkomst", "Registers"): opened from the top bar, one at a time,
// closed with their × button or Escape (focus returns to the button that opened them).

import { clear, h } from './dom';
import { t, type Key } from './i18n';

interface Drawer {
  toggle: HTMLButtonElement;
  section: HTMLElement;
  body: HTMLElement;
  render: (body: HTMLElement) => void;
}

const drawers = new Map<string, Drawer>();
let openName: string | null = null;

/** A drawer over ``section``, opened by ``toggle``, its heading ``titleKey``; ``render`` fills it. */
export function registerDrawer(name: string, toggle: HTMLButtonElement, section: HTMLElement, titleKey: Key, render: (body: HTMLElement) => void): void {
  const titleId = `${name}-title`;
  const heading = h('h2', { id: titleId, tabindex: -1, 'data-i18n': titleKey }, t(titleKey));
  const close = h('button', { type: 'button', class: 'icon close', 'data-i18n-aria': 'catalogueClose', 'aria-label': t('catalogueClose'), title: t('catalogueClose'), onclick: () => closeDrawer() }, '×');
  const body = h('div', { class: 'drawer-body' });
  clear(section);
  section.setAttribute('aria-labelledby', titleId);
  section.append(h('div', { class: 'panel-head' }, heading, close), body);
  drawers.set(name, { toggle, section, body, render });
  toggle.addEventListener('click', () => (openName === name ? closeDrawer() : openDrawer(name)));
}

export function openDrawer(name: string): HTMLElement | null {
  const drawer = drawers.get(name);
  if (!drawer) return null;
  if (openName && openName !== name) closeDrawer(false);
  openName = name;
  drawer.section.hidden = false;
  drawer.toggle.setAttribute('aria-expanded', 'true');
  drawer.render(drawer.body);
  drawer.section.querySelector<HTMLElement>('h2')?.focus();
  return drawer.body;
}

export function closeDrawer(returnFocus = true): void {
  const drawer = openName ? drawers.get(openName) : undefined;
  openName = null;
  if (!drawer) return;
  drawer.section.hidden = true;
  drawer.toggle.setAttribute('aria-expanded', 'false');
  if (returnFocus) drawer.toggle.focus();
}

export function isDrawerOpen(name?: string): boolean {
  return name ? openName === name : openName !== null;
}

/** Render the open drawer again (new language, new session). */
export function rerenderDrawer(name?: string): void {
  if (!openName || (name && name !== openName)) return;
  const drawer = drawers.get(openName);
  if (drawer) drawer.render(drawer.body);
}
