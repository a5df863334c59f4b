// The info panel: the attributes of the picked building, buurt or feature, each with its source and
// whether it is estimated (Arrow field metadata, the *_source columns and x-estimated-fields).

import { errorText, getJson } from './api';
import { buildingAttributes, getBuildings, setMarked, withheldBuildingRows, type AttributeRow } from './buildings';
import { showDataset } from './datasets-panel';
import { clear, h } from './dom';
import { knownDataset, loadDatasets, onDatasetsLoaded } from './governance';
import { formatNumber, localized, t } from './i18n';
import { hooks, type PickSummary } from './hooks';
import type { CatalogueLayer } from './catalogue';
import { describeBuilding } from './scenario-layers';

interface CollectionMeta {
  title?: string;
  'x-source'?: string;
  'x-estimated-fields'?: string[];
  'x-attribution'?: string;
}

let panel: HTMLElement | null = null;
let body: HTMLElement | null = null;
let current: (() => void) | null = null;
let requestSerial = 0;
const collectionMeta = new Map<string, Promise<CollectionMeta>>();

function metaOf(collection: string): Promise<CollectionMeta> {
  if (!collectionMeta.has(collection)) {
    collectionMeta.set(collection, getJson<CollectionMeta>(`/v1/collections/${encodeURIComponent(collection)}?f=json`).catch(() => ({})));
  }
  return collectionMeta.get(collection) as Promise<CollectionMeta>;
}

export function mountInfoPanel(element: HTMLElement): void {
  panel = element;
  const close = h('button', { type: 'button', class: 'icon close', 'aria-label': t('infoClose'), title: t('infoClose'), onclick: () => closeInfo() }, '×');
  body = h('div', { class: 'info-body', 'aria-live': 'polite' });
  element.append(h('div', { class: 'panel-head' }, h('h2', { 'data-i18n': 'infoTitle' }, t('infoTitle')), close), body);
  renderEmpty();
  // source lines link to the dataset catalogue once it is known
  onDatasetsLoaded(() => rerenderInfo());
  void loadDatasets().catch(() => undefined);
}

function renderEmpty(): void {
  if (!body) return;
  clear(body);
  body.appendChild(h('p', { class: 'muted' }, t('infoEmpty')));
  panel?.classList.remove('has-selection');
}

export function closeInfo(): void {
  current = null;
  hooks.selected = null;
  setMarked('selection', []);
  renderEmpty();
}

export function rerenderInfo(): void {
  if (current) current();
  else renderEmpty();
}

function restrictedBadge(): HTMLElement {
  return h('span', { class: 'badge restricted', title: t('restrictedTitle'), 'data-testid': 'restricted-marker' }, t('restrictedValue'));
}

/** "bron: …" as plain text, or as a link to the dataset's catalogue entry when the catalogue has it. */
function sourceLine(text: string, dataset: string | undefined, className: string): HTMLElement {
  const entry = knownDataset(dataset);
  if (!entry || !dataset) return h('span', { class: className }, text);
  return h(
    'span',
    { class: className },
    h(
      'button',
      {
        type: 'button',
        class: 'link source-link',
        'data-dataset': dataset,
        'aria-label': t('catalogueOpenEntry', { source: text, title: entry.title }),
        title: t('catalogueShow', { title: entry.title }),
        onclick: () => showDataset(dataset),
      },
      text,
    ),
  );
}

function valueText(value: unknown, unit: string): string {
  if (value == null || value === '') return '–';
  if (typeof value === 'boolean') return value ? t('yes') : t('no');
  if (typeof value === 'number') return `${formatNumber(value)}${unit && unit !== '-' ? ` ${unit}` : ''}`;
  return String(value);
}

function estimatedBadge(estimated: boolean, method: string): HTMLElement | null {
  if (!estimated) return null;
  return h(
    'span',
    { class: 'badge estimated', title: t('infoEstimatedTitle', { method: method || '–' }), 'data-testid': 'estimated-marker' },
    t('infoEstimated'),
  );
}

function mostFrequent(values: string[]): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best = '';
  let bestCount = 1;
  for (const [value, count] of counts) if (count > bestCount) [best, bestCount] = [value, count];
  return best;
}

/** Attributes as a definition list: value, estimated marker and method, source (the common one once),
 * the source linked to the catalogue entry of ``dataset`` (the layer) when the catalogue knows it. */
function attributeTable(rows: AttributeRow[], dataset?: string): HTMLElement {
  const common = mostFrequent(rows.map((row) => row.source).filter(Boolean));
  return h(
    'div',
    { class: 'attributes' },
    common ? h('p', { class: 'small muted source-common' }, `${t('infoSourceAll')}: `, sourceLine(common, dataset, '')) : null,
    h(
      'dl',
      {},
      rows.flatMap((row) => [
        h('dt', {}, row.title),
        row.restricted
          ? h('dd', { 'data-attribute': row.name, 'data-restricted': 'true' }, h('span', { class: 'value' }, '–'), ' ', restrictedBadge())
          : h(
              'dd',
              { 'data-attribute': row.name, 'data-estimated': String(row.estimated) },
              h('span', { class: 'value' }, valueText(row.value, row.unit)),
              ' ',
              estimatedBadge(row.estimated, row.method),
              row.estimated && row.method ? h('span', { class: 'method small' }, `${t('infoMethod')}: ${row.method}`) : null,
              row.source === common
                ? h('span', { class: 'source small sr-only' }, `${t('infoSource')}: ${row.source || '–'}`)
                : sourceLine(`${t('infoSource')}: ${row.source || '–'}`, row.source ? dataset : undefined, 'source small'),
            ),
      ]),
    ),
  );
}

/** Rows of a full OGC API record: value, source (the <field>_source column) and estimated flag. */
function recordRows(properties: Record<string, unknown>, meta: CollectionMeta): AttributeRow[] {
  const estimatedFields = new Set(meta['x-estimated-fields'] ?? []);
  const names = Object.keys(properties).filter((name) => !name.endsWith('_source'));
  return names.map((name) => {
    const base = name.replace(/_(m|m2|est|raw|kmh)$/, '');
    const sourceValue = properties[`${name}_source`] ?? properties[`${base}_source`];
    const estimated = estimatedFields.has(name) && sourceValue !== 'osm' && sourceValue !== 'bag';
    return {
      name,
      title: name,
      value: properties[name] as AttributeRow['value'],
      unit: '',
      source: sourceValue != null ? String(sourceValue) : meta['x-source'] ?? '',
      method: estimated ? String(sourceValue ?? '') : '',
      estimated,
    };
  });
}

export function showBuilding(index: number): PickSummary | null {
  const data = getBuildings();
  if (!data || index < 0 || index >= data.ids.length) return null;
  const id = data.ids[index] as string;
  const summary: PickSummary = { layer: 'buildings', kind: 'building', id, index, title: t('infoBuilding', { id }) };
  const rows = buildingAttributes(index);
  hooks.selected = { ...summary, attributes: Object.fromEntries(rows.map((row) => [row.name, row.value])) };
  setMarked('selection', [index]);
  const serial = (requestSerial += 1);
  let record: HTMLElement = h('p', { class: 'muted' }, t('infoLoadingRecord'));
  const render = (): void => {
    if (!body) return;
    clear(body);
    panel?.classList.add('has-selection');
    const scenario = describeBuilding(id);
    body.append(
      h('h3', {}, t('infoBuilding', { id })),
      scenario
        ? h(
            'div',
            { class: 'scenario-values' },
            h('h4', {}, scenario.title),
            attributeTable(
              scenario.rows.map(([label, value]) => ({
                name: label,
                title: label,
                value,
                unit: scenario.unit,
                source: t('scenarioSource'),
                method: t('scenarioMethod'),
                estimated: true,
              })),
            ),
          )
        : '',
      attributeTable([...buildingAttributes(index), ...withheldBuildingRows()], 'buildings'),
      h('details', { class: 'full-record' }, h('summary', {}, t('infoFullRecord')), record),
    );
  };
  current = render;
  render();
  void Promise.all([getJson<GeoJSON.Feature>(`/v1/collections/buildings/items/${encodeURIComponent(id)}?f=json`), metaOf('buildings')])
    .then(([feature, meta]) => {
      if (serial !== requestSerial) return;
      record = attributeTable(recordRows(feature.properties ?? {}, meta), 'buildings');
      if (hooks.selected && hooks.selected.id === id) hooks.selected.attributes = { ...hooks.selected.attributes, record: feature.properties };
      render();
    })
    .catch((error: unknown) => {
      if (serial !== requestSerial) return;
      record = h('p', { class: 'error' }, errorText(error));
      render();
    });
  return summary;
}

/** A feature of a catalogue layer (buurt, wijk, facility, …) with its properties. */
export function showFeature(entry: CatalogueLayer, feature: GeoJSON.Feature, index: number): PickSummary {
  const properties = feature.properties ?? {};
  const isBuurt = entry.id === 'buurten';
  const id = (isBuurt ? properties.bu_code : feature.id ?? properties.id ?? index) as string | number;
  const name = String(properties.bu_naam ?? properties.wk_naam ?? properties.name ?? id);
  const title = isBuurt ? t('infoBuurt', { name }) : t('infoFeature', { layer: localized(entry.title), id: name });
  const summary: PickSummary = { layer: entry.id, kind: isBuurt ? 'buurt' : 'feature', id, index, title };
  hooks.selected = { ...summary, attributes: { ...properties } };
  setMarked('selection', []);
  const serial = (requestSerial += 1);
  let meta: CollectionMeta = {};
  const render = (): void => {
    if (!body) return;
    clear(body);
    panel?.classList.add('has-selection');
    const rows = recordRows(properties, meta);
    for (const attribute of entry.attributes ?? []) {
      const row = rows.find((candidate) => candidate.name === attribute.name);
      if (row) {
        row.title = localized(attribute.title) || row.title;
        row.unit = attribute.unit ?? '';
        row.source = attribute.source ?? row.source;
        row.estimated = String(attribute.estimated) === 'true';
        row.method = attribute.method ?? '';
      }
    }
    body.append(h('h3', {}, title), attributeTable(rows, entry.id));
    if (meta['x-attribution']) body.append(h('p', { class: 'small muted' }, meta['x-attribution']));
  };
  current = render;
  render();
  const collection = entry.source.match(/collections\/([^/?]+)/)?.[1];
  if (collection) {
    void metaOf(collection).then((found) => {
      if (serial !== requestSerial) return;
      meta = found;
      render();
    });
  }
  return summary;
}

/** A row of an Arrow-backed layer (grid cell, road) or of a scenario difference layer. */
export function showRows(summary: PickSummary, title: string, rows: AttributeRow[]): PickSummary {
  return showCustom(summary, (container) => {
    container.append(h('h3', {}, title), attributeTable(rows));
  });
}

/** A generic panel body (sensors, scenario objects). */
export function showCustom(summary: PickSummary, render: (container: HTMLElement) => void): PickSummary {
  hooks.selected = summary;
  setMarked('selection', []);
  requestSerial += 1;
  const draw = (): void => {
    if (!body) return;
    clear(body);
    panel?.classList.add('has-selection');
    render(body);
  };
  current = draw;
  draw();
  return summary;
}
