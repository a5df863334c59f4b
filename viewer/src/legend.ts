// The legend: every module that colours the map registers an entry; the panel lists them.

import { cssColour, cssGradient, type RGB } from './colour';
import { h, clear } from './dom';
import { formatNumber, formatSigned, t } from './i18n';

export type LegendEntry =
  | { kind: 'sequential'; title: string; unit?: string; stops: RGB[]; min: number; max: number; notes?: string[] }
  | {
      kind: 'diverging';
      title: string;
      unit?: string;
      stops: RGB[];
      max: number;
      better?: string | null;
      notes?: string[];
    }
  | { kind: 'categorical'; title: string; items: { label: string; colour: RGB }[]; notes?: string[] };

const entries = new Map<string, () => LegendEntry | null>();
let container: HTMLElement | null = null;

export function mountLegend(element: HTMLElement): void {
  container = element;
  renderLegend();
}

/** Set (or clear, with null) the legend entry of a module; the function is re-run on language change. */
export function setLegend(key: string, entry: (() => LegendEntry | null) | null): void {
  if (entry) entries.set(key, entry);
  else entries.delete(key);
  renderLegend();
}

function unitText(unit?: string): string {
  return unit && unit !== '-' ? ` (${unit})` : '';
}

function renderEntry(entry: LegendEntry): HTMLElement {
  const notes = (entry.notes ?? []).map((note) => h('p', { class: 'legend-note' }, note));
  if (entry.kind === 'categorical') {
    return h(
      'figure',
      { class: 'legend-entry' },
      h('figcaption', {}, entry.title),
      h(
        'ul',
        { class: 'legend-categories' },
        entry.items.map((item) =>
          h('li', {}, h('span', { class: 'swatch', style: `background:${cssColour(item.colour)}`, 'aria-hidden': 'true' }), item.label),
        ),
      ),
      notes,
    );
  }
  const ramp = h('div', { class: 'legend-ramp', style: `background:${cssGradient(entry.stops)}`, 'aria-hidden': 'true' });
  if (entry.kind === 'sequential') {
    return h(
      'figure',
      { class: 'legend-entry' },
      h('figcaption', {}, entry.title + unitText(entry.unit)),
      ramp,
      h('div', { class: 'legend-scale' }, h('span', {}, formatNumber(entry.min)), h('span', {}, formatNumber(entry.max))),
      notes,
    );
  }
  const direction =
    entry.better === 'lower' ? t('legendBetterLower') : entry.better === 'higher' ? t('legendBetterHigher') : t('legendNeutral');
  return h(
    'figure',
    { class: 'legend-entry' },
    h('figcaption', {}, entry.title + unitText(entry.unit)),
    ramp,
    h(
      'div',
      { class: 'legend-scale' },
      h('span', {}, `${formatSigned(-entry.max)} ${t('legendDecrease')}`),
      h('span', {}, '0'),
      h('span', {}, `${formatSigned(entry.max)} ${t('legendIncrease')}`),
    ),
    h('p', { class: 'legend-note' }, direction),
    notes,
  );
}

export function renderLegend(): void {
  if (!container) return;
  clear(container);
  for (const entry of entries.values()) {
    const value = entry();
    if (value) container.appendChild(renderEntry(value));
  }
}
