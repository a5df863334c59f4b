// Colour controls for the buildings: attribute, palette, "distinguish estimated heights".

import { colourableColumns, columnTitle, getColourSettings, setColourBy, setPalette, setShowEstimated, withheldBuildingColumns } from './buildings';
import type { SequentialPalette } from './colour';
import { clear, h, uid } from './dom';
import { t } from './i18n';

let container: HTMLElement | null = null;

export function mountColourControls(element: HTMLElement): void {
  container = element;
  renderColourControls();
}

export function renderColourControls(): void {
  if (!container) return;
  const focusedKey = (document.activeElement as HTMLElement | null)?.dataset.focusKey;
  clear(container);
  const settings = getColourSettings();
  const columns = colourableColumns();
  const colourId = uid('colour-by');
  const paletteId = uid('palette');
  const estimatedId = uid('estimated');
  const colourSelect = h(
    'select',
    {
      id: colourId,
      'data-testid': 'colour-by',
      'data-focus-key': 'colour-by',
      onchange: (event: Event) => setColourBy((event.target as HTMLSelectElement).value),
    },
    h('option', { value: 'uniform' }, '—'),
    columns.map((column) => h('option', { value: column.name }, columnTitle(column) + (column.meta.estimated === 'true' ? ` (${t('infoEstimated')})` : ''))),
    // personal data this role does not receive: listed, not choosable, saying why
    withheldBuildingColumns().map(({ name, title }) => h('option', { value: name, disabled: true, 'data-restricted': 'true', title: t('restrictedTitle') }, t('restrictedOption', { title }))),
  );
  colourSelect.value = columns.some((column) => column.name === settings.colourBy) ? settings.colourBy : 'uniform';
  const paletteSelect = h(
    'select',
    {
      id: paletteId,
      'data-focus-key': 'palette',
      onchange: (event: Event) => setPalette((event.target as HTMLSelectElement).value as SequentialPalette),
    },
    h('option', { value: 'viridis' }, t('paletteViridis')),
    h('option', { value: 'cividis' }, t('paletteCividis')),
  );
  paletteSelect.value = settings.palette;
  const estimated = h('input', {
    type: 'checkbox',
    id: estimatedId,
    'data-testid': 'show-estimated',
    'data-focus-key': 'show-estimated',
    onchange: (event: Event) => setShowEstimated((event.target as HTMLInputElement).checked),
  });
  estimated.checked = settings.showEstimated;
  container.append(
    h('div', { class: 'field' }, h('label', { for: colourId }, t('colourBy')), colourSelect),
    h('div', { class: 'field' }, h('label', { for: paletteId }, t('palette')), paletteSelect),
    h('div', { class: 'field checkbox' }, estimated, h('label', { for: estimatedId }, t('showEstimated'))),
  );
  if (focusedKey) container.querySelector<HTMLElement>(`[data-focus-key="${focusedKey}"]`)?.focus();
}
