// The layer catalogue (/v1/viewer/layers): what can be shown, with visibility, opacity and order.
// Vector layers load lazily (first time shown) from their OGC API Features source; indicator
// layers in Arrow are joined to buurt polygons or drawn as grid cells.

import { GeoJsonLayer, PathLayer, SolidPolygonLayer } from '@deck.gl/layers';
import type { Layer } from '@deck.gl/core';
import { errorText, getAllFeatures, getJson, withParams } from './api';
import { setBuildingDisplay } from './buildings';
import { CATEGORICAL, NO_DATA, PALETTES, lookupTable, robustRange, type RGB } from './colour';
import { cellValue, columnByName, type Column, type PathGeometry, type Table } from './data/types';
import { loadTable } from './data/loader';
import { clear, h, uid } from './dom';
import { indicatorTitle, localized, t, tMaybe, type Key } from './i18n';
import { setLegend } from './legend';
import { addProvider, getMap, requestRender } from './map';

export type Group = 'city' | 'indicators' | 'sensors' | 'basemap' | 'scenario';
export type Kind = 'buildings' | 'polygons' | 'lines' | 'points' | 'grid' | 'sensors' | 'basemap';

export interface CatalogueAttribute {
  name: string;
  title: { nl?: string; en?: string } | string;
  unit?: string;
  estimated?: boolean | string;
  method?: string;
  source?: string;
}

export interface CatalogueLayer {
  id: string;
  title: { nl?: string; en?: string } | string;
  group: Group;
  kind: Kind;
  source: string;
  attributes?: CatalogueAttribute[];
  default_visible?: boolean;
  default_opacity?: number;
  description?: { nl?: string; en?: string } | string;
  format?: string;
  /** Indicator layers: the column to colour by, its domain and better direction. */
  column?: string;
  domain?: string;
  better?: 'lower' | 'higher' | 'neutral' | null;
  /** Sensor layers: the Datastreams they show. */
  datastreams?: number[];
}

export interface SensorDisplay {
  visible: boolean;
  /** Datastreams to show; null: all. */
  streams: Set<number> | null;
  opacity: number;
  z: number;
}

interface LayerState {
  entry: CatalogueLayer;
  visible: boolean;
  opacity: number;
  attribute: string | null;
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string;
  features: GeoJSON.FeatureCollection | null;
  table: Table | null;
  version: number;
}

const GROUP_ORDER: Group[] = ['sensors', 'scenario', 'indicators', 'city', 'basemap'];
const GROUP_BASE: Record<Group, number> = { basemap: 0, city: 100, indicators: 200, scenario: 300, sensors: 400 };
const GROUP_KEY: Record<Group, Key> = {
  city: 'groupCity',
  indicators: 'groupIndicators',
  sensors: 'groupSensors',
  basemap: 'groupBasemap',
  scenario: 'groupScenario',
};

/** Fixed styles of the city layers (fill, line), colour-blind-safe and readable over the basemap. */
const CITY_STYLE: Record<string, { fill: [number, number, number, number]; line: [number, number, number, number]; width: number }> = {
  buurten: { fill: [0, 0, 0, 0], line: [60, 60, 90, 200], width: 1.5 },
  wijken: { fill: [0, 0, 0, 0], line: [20, 20, 60, 230], width: 3 },
  green: { fill: [0, 158, 115, 110], line: [0, 120, 90, 160], width: 0.5 },
  water: { fill: [86, 180, 233, 150], line: [0, 114, 178, 160], width: 0.5 },
  waterways: { fill: [0, 0, 0, 0], line: [0, 114, 178, 200], width: 2 },
  roads: { fill: [0, 0, 0, 0], line: [90, 90, 90, 200], width: 1.5 },
  facilities: { fill: [230, 159, 0, 230], line: [60, 40, 0, 255], width: 1 },
  sensor_sites: { fill: [204, 121, 167, 230], line: [60, 20, 40, 255], width: 1 },
};

const layers: LayerState[] = [];
let panel: HTMLElement | null = null;
let buurtGeometry: Promise<GeoJSON.FeatureCollection> | null = null;
const sensorDisplayListeners: ((display: SensorDisplay) => void)[] = [];
const tableCache = new Map<string, Promise<Table>>();
const joinedCache = new Map<string, Promise<GeoJSON.FeatureCollection>>();

export function onSensorDisplay(listener: (display: SensorDisplay) => void): void {
  sensorDisplayListeners.push(listener);
}

function isBasemap(entry: CatalogueLayer): boolean {
  return entry.group === 'basemap' || entry.kind === 'basemap' || entry.format === 'maplibre-style';
}

/** An Arrow table shared by every layer with the same source (the indicator tables). */
function cachedTable(source: string): Promise<Table> {
  if (!tableCache.has(source)) {
    const loading = loadTable(source);
    loading.catch(() => tableCache.delete(source));
    tableCache.set(source, loading);
  }
  return tableCache.get(source) as Promise<Table>;
}

function sensorDisplay(): SensorDisplay {
  const sensorLayers = layers.filter((layer) => layer.entry.kind === 'sensors');
  const visible = sensorLayers.filter((layer) => layer.visible);
  const everything = visible.some((layer) => !layer.entry.datastreams);
  return {
    visible: visible.length > 0,
    streams: everything ? null : new Set(visible.flatMap((layer) => layer.entry.datastreams ?? [])),
    opacity: Math.max(0, ...visible.map((layer) => layer.opacity)),
    z: Math.max(GROUP_BASE.sensors, ...sensorLayers.map(zOf)),
  };
}

/** Buurt polygons (CBS 2020), fetched once and shared (dashboard, indicator joins, info). */
export function buurtFeatures(): Promise<GeoJSON.FeatureCollection> {
  buurtGeometry ??= getAllFeatures('/v1/collections/buurten/items?limit=1000');
  return buurtGeometry;
}

function zOf(layer: LayerState): number {
  const sameGroup = layers.filter((candidate) => candidate.entry.group === layer.entry.group);
  const position = sameGroup.length - 1 - sameGroup.indexOf(layer);
  return GROUP_BASE[layer.entry.group] + position;
}

async function fallbackCatalogue(): Promise<CatalogueLayer[]> {
  const collections = await getJson<{ collections: { id: string; title: string }[] }>('/v1/collections');
  const kindOf: Record<string, Kind> = {
    buurten: 'polygons',
    wijken: 'polygons',
    green: 'polygons',
    water: 'polygons',
    roads: 'lines',
    waterways: 'lines',
    facilities: 'points',
    sensor_sites: 'points',
  };
  const city: CatalogueLayer[] = collections.collections
    .filter((collection) => collection.id in kindOf)
    .map((collection) => ({
      id: collection.id,
      title: collection.title,
      group: 'city',
      kind: kindOf[collection.id] as Kind,
      source: `/v1/collections/${collection.id}/items`,
      default_visible: collection.id === 'buurten',
      default_opacity: 1,
    }));
  return [
    { id: 'buildings', title: { nl: 'Gebouwen', en: 'Buildings' }, group: 'city', kind: 'buildings', source: '/v1/viewer/buildings.arrow', default_visible: true, default_opacity: 1 },
    ...city,
    { id: 'sensors', title: { nl: 'Sensoren (live)', en: 'Sensors (live)' }, group: 'sensors', kind: 'sensors', source: '/v1.1/Things', default_visible: true, default_opacity: 1 },
    { id: 'basemap', title: { nl: 'Achtergrondkaart (OSM)', en: 'Basemap (OSM)' }, group: 'basemap', kind: 'basemap', source: '/v1/basemap/style.json', default_visible: true, default_opacity: 1 },
  ];
}

let catalogueError = '';

export async function loadCatalogue(): Promise<void> {
  let entries: CatalogueLayer[];
  try {
    entries = (await getJson<{ layers: CatalogueLayer[] }>('/v1/viewer/layers')).layers;
  } catch (error) {
    try {
      entries = await fallbackCatalogue();
    } catch {
      catalogueError = errorText(error);
      entries = [];
    }
  }
  if (entries.length > 0 && !entries.some(isBasemap)) {
    entries.push({ id: 'basemap', title: { nl: 'Achtergrondkaart (OSM)', en: 'Basemap (OSM)' }, group: 'basemap', kind: 'basemap', source: '', default_visible: true, default_opacity: 1 });
  }
  layers.length = 0;
  for (const group of GROUP_ORDER) {
    for (const entry of entries.filter((candidate) => (candidate.group ?? 'city') === group)) {
      layers.push({
        entry,
        visible: entry.default_visible ?? false,
        opacity: entry.default_opacity ?? 1,
        attribute: entry.column ?? entry.attributes?.[0]?.name ?? null,
        status: 'idle',
        error: '',
        features: null,
        table: null,
        version: 0,
      });
    }
  }
  for (const layer of layers) applyDisplay(layer);
  renderPanel();
}

function applyDisplay(layer: LayerState): void {
  const { kind } = layer.entry;
  if (isBasemap(layer.entry)) applyBasemap(layer);
  else if (kind === 'buildings') setBuildingDisplay({ visible: layer.visible, opacity: layer.opacity, z: zOf(layer) });
  else if (kind === 'sensors') {
    const display = sensorDisplay();
    for (const listener of sensorDisplayListeners) listener(display);
  }
  else if (layer.visible && layer.status === 'idle') void loadData(layer);
  updateLegend(layer);
  requestRender();
}

function applyBasemap(layer: LayerState): void {
  try {
    const canvas = getMap().getCanvas();
    canvas.style.opacity = layer.visible ? String(layer.opacity) : '0';
  } catch {
    // map not ready yet
  }
}

async function loadData(layer: LayerState): Promise<void> {
  layer.status = 'loading';
  renderPanel();
  try {
    const source = layer.entry.source;
    if (layer.entry.format === 'arrow' || /\.arrow(\?|$)/.test(source)) {
      layer.table = await cachedTable(source);
      if (columnByName(layer.table, 'code') && !columnByName(layer.table, 'lon')) {
        if (!joinedCache.has(source)) {
          const table = layer.table;
          joinedCache.set(source, buurtFeatures().then((buurten) => joinToBuurten(buurten, table)));
        }
        layer.features = await (joinedCache.get(source) as Promise<GeoJSON.FeatureCollection>);
      }
    } else {
      layer.features = await getAllFeatures(withParams(source, { limit: '10000' }));
    }
    layer.status = 'ready';
  } catch (error) {
    layer.status = 'error';
    layer.error = errorText(error);
  }
  layer.version += 1;
  updateLegend(layer);
  renderPanel();
  requestRender();
}

function joinToBuurten(buurten: GeoJSON.FeatureCollection, table: Table): GeoJSON.FeatureCollection {
  const codeColumn = columnByName(table, 'code') as Column;
  const rowOf = new Map<string, number>();
  for (let row = 0; row < table.length; row += 1) rowOf.set(String(cellValue(codeColumn, row)), row);
  return {
    type: 'FeatureCollection',
    features: buurten.features.map((feature) => {
      const row = rowOf.get(String(feature.properties?.bu_code));
      const values: Record<string, unknown> = {};
      if (row !== undefined) for (const column of table.columns) values[column.name] = cellValue(column, row);
      return { ...feature, properties: { ...feature.properties, ...values } };
    }),
  };
}

function attributeOf(layer: LayerState): CatalogueAttribute | null {
  return layer.entry.attributes?.find((attribute) => attribute.name === layer.attribute) ?? null;
}

/** Colour scale of an indicator layer's chosen attribute: [min, max] and a lookup table. */
function scaleOf(layer: LayerState): { min: number; max: number; table: Uint8Array } | null {
  const name = layer.attribute;
  if (!name || layer.entry.group !== 'indicators') return null;
  let values: number[] = [];
  if (layer.table && !layer.features) {
    const column = columnByName(layer.table, name);
    if (column?.kind === 'number') values = Array.from(column.values);
  } else if (layer.features) {
    values = layer.features.features.map((feature) => Number(feature.properties?.[name]));
  }
  if (values.length === 0) return null;
  const [min, max] = robustRange(values);
  return { min, max, table: lookupTable(PALETTES.viridis) };
}

function scaled(scale: { min: number; max: number; table: Uint8Array }, value: number, alpha: number): [number, number, number, number] {
  if (!Number.isFinite(value)) return [...NO_DATA, Math.round(alpha * 0.5)];
  const slot = Math.round(Math.min(1, Math.max(0, (value - scale.min) / (scale.max - scale.min))) * 255) * 3;
  return [scale.table[slot] as number, scale.table[slot + 1] as number, scale.table[slot + 2] as number, alpha];
}

function updateLegend(layer: LayerState): void {
  const key = `catalogue:${layer.entry.id}`;
  const scale = layer.visible && layer.status === 'ready' ? scaleOf(layer) : null;
  if (!scale) {
    setLegend(key, null);
    return;
  }
  setLegend(key, () => {
    const attribute = attributeOf(layer);
    const notes = attribute && String(attribute.estimated) === 'true' ? [`${t('infoEstimated')}: ${attribute.method ?? ''}`] : [];
    const better = layer.entry.better;
    if (better === 'lower') notes.unshift(t('legendBetterLower'));
    else if (better === 'higher') notes.unshift(t('legendBetterHigher'));
    return {
      kind: 'sequential',
      title: layer.entry.group === 'indicators' ? layerTitle(layer.entry) : `${layerTitle(layer.entry)}: ${localized(attribute?.title ?? layer.attribute ?? '')}`,
      unit: attribute?.unit,
      stops: PALETTES.viridis,
      min: scale.min,
      max: scale.max,
      notes,
    };
  });
}

const FACILITY_COLOURS = new Map<string, RGB>();
function facilityColour(type: string): RGB {
  if (!FACILITY_COLOURS.has(type)) FACILITY_COLOURS.set(type, CATEGORICAL[FACILITY_COLOURS.size % (CATEGORICAL.length - 1)] as RGB);
  return FACILITY_COLOURS.get(type) as RGB;
}

function deckLayer(layer: LayerState): Layer | null {
  const { entry } = layer;
  if (!layer.visible || layer.status !== 'ready') return null;
  const style = CITY_STYLE[entry.id] ?? { fill: [120, 120, 120, 90], line: [70, 70, 70, 200], width: 1 };
  const scale = scaleOf(layer);
  const id = `catalogue-${entry.id}`;
  if (layer.table && !layer.features) {
    if (layer.table.paths.path) return pathLayer(layer, id, scale);
    return gridLayer(layer, id, scale);
  }
  if (!layer.features) return null;
  const attribute = layer.attribute;
  const fillAlpha = entry.kind === 'polygons' && scale ? 170 : style.fill[3];
  return new GeoJsonLayer({
    id,
    data: layer.features,
    opacity: layer.opacity,
    pickable: true,
    stroked: entry.kind !== 'points',
    filled: true,
    extruded: false,
    pointType: 'circle',
    getPointRadius: 6,
    pointRadiusUnits: 'pixels',
    lineWidthUnits: 'pixels',
    getLineWidth: style.width,
    getLineColor: (feature: GeoJSON.Feature) =>
      entry.kind === 'lines' && scale && attribute ? scaled(scale, Number(feature.properties?.[attribute]), 230) : style.line,
    getFillColor: (feature: GeoJSON.Feature) => {
      if (scale && attribute) return scaled(scale, Number(feature.properties?.[attribute]), fillAlpha);
      if (entry.id === 'facilities') return [...facilityColour(String(feature.properties?.facility_type)), 230];
      return style.fill;
    },
    updateTriggers: { getFillColor: [attribute, layer.version], getLineColor: [attribute, layer.version] },
  });
}

function pathLayer(layer: LayerState, id: string, scale: ReturnType<typeof scaleOf>): Layer | null {
  const table = layer.table as Table;
  const path = table.paths.path as PathGeometry;
  const origin = JSON.parse(table.schemaMeta['tweeling:origin'] ?? 'null') as [number, number] | null;
  const values = layer.attribute ? columnByName(table, layer.attribute) : undefined;
  return new PathLayer<number>({
    id,
    data: Array.from({ length: table.length }, (_, row) => row),
    opacity: layer.opacity,
    pickable: true,
    positionFormat: 'XY',
    ...(origin ? { coordinateSystem: 'lnglat-offsets' as const, coordinateOrigin: [origin[0], origin[1], 0] as [number, number, number] } : {}),
    getPath: (row) => path.positions.subarray((path.startIndices[row] as number) * 2, (path.startIndices[row + 1] as number) * 2) as unknown as [number, number][],
    getColor: (row) => (scale && values?.kind === 'number' ? scaled(scale, values.values[row] as number, 230) : [90, 90, 90, 200]),
    widthUnits: 'pixels',
    getWidth: 3,
    capRounded: true,
    updateTriggers: { getColor: [layer.attribute, layer.version] },
  });
}

function gridLayer(layer: LayerState, id: string, scale: ReturnType<typeof scaleOf>): Layer | null {
  const table = layer.table as Table;
  const lon = columnByName(table, 'lon');
  const lat = columnByName(table, 'lat');
  if (lon?.kind !== 'number' || lat?.kind !== 'number') return null;
  const cell = Number(table.schemaMeta['tweeling:cell_size_m'] ?? 100);
  const values = layer.attribute ? columnByName(table, layer.attribute) : undefined;
  return new SolidPolygonLayer({
    id,
    data: Array.from({ length: table.length }, (_, row) => row),
    opacity: layer.opacity,
    pickable: true,
    extruded: false,
    getPolygon: (row: number) => cellSquare(lon.values[row] as number, lat.values[row] as number, cell),
    getFillColor: (row: number) =>
      scale && values?.kind === 'number' ? scaled(scale, values.values[row] as number, 190) : [120, 120, 120, 120],
    updateTriggers: { getFillColor: [layer.attribute, layer.version] },
  });
}

/** A square grid cell (metres) around a centre, in lon/lat. */
export function cellSquare(lon: number, lat: number, sizeM: number): [number, number][] {
  const half = sizeM / 2;
  const dLat = half / 111320;
  const dLon = half / (111320 * Math.cos((lat * Math.PI) / 180));
  return [
    [lon - dLon, lat - dLat],
    [lon + dLon, lat - dLat],
    [lon + dLon, lat + dLat],
    [lon - dLon, lat + dLat],
  ];
}

addProvider({
  layers() {
    return layers
      .filter((layer) => !['buildings', 'sensors'].includes(layer.entry.kind) && !isBasemap(layer.entry))
      .map((layer) => ({ z: zOf(layer), layer: deckLayer(layer) }));
  },
});

/** What a picked grid cell or road of an Arrow-backed layer holds: its attributes with metadata. */
export function tableRowInfo(layerId: string, row: number): { title: string; rows: { name: string; title: string; value: number | string | boolean | null; unit: string; source: string; method: string; estimated: boolean }[] } | null {
  const layer = layers.find((candidate) => `catalogue-${candidate.entry.id}` === layerId);
  const table = layer?.table;
  if (!layer || !table || row < 0 || row >= table.length) return null;
  const attributes = layer.entry.attributes ?? [];
  return {
    title: layerTitle(layer.entry),
    rows: attributes
      .filter((attribute) => columnByName(table, attribute.name))
      .map((attribute) => ({
        name: attribute.name,
        title: layerTitle(layer.entry),
        value: cellValue(columnByName(table, attribute.name) as Column, row),
        unit: attribute.unit ?? '',
        source: attribute.source ?? '',
        method: attribute.method ?? '',
        estimated: String(attribute.estimated) === 'true',
      })),
  };
}

/** The catalogue entry of a deck.gl layer id (catalogue-<id>). */
export function catalogueEntry(layerId: string | undefined): CatalogueLayer | null {
  if (!layerId?.startsWith('catalogue-')) return null;
  return layers.find((layer) => `catalogue-${layer.entry.id}` === layerId)?.entry ?? null;
}

export function entryById(id: string): CatalogueLayer | null {
  return layers.find((layer) => layer.entry.id === id)?.entry ?? null;
}

/** Make a catalogue layer visible (e.g. buurten when the dashboard highlights one). */
export function showLayer(id: string): void {
  const layer = layers.find((candidate) => candidate.entry.id === id);
  if (layer && !layer.visible) {
    layer.visible = true;
    applyDisplay(layer);
    renderPanel();
  }
}

function move(layer: LayerState, direction: -1 | 1): void {
  const sameGroup = layers.filter((candidate) => candidate.entry.group === layer.entry.group);
  const position = sameGroup.indexOf(layer);
  const target = sameGroup[position + direction];
  if (!target) return;
  const a = layers.indexOf(layer);
  const b = layers.indexOf(target);
  layers[a] = target;
  layers[b] = layer;
  for (const candidate of sameGroup) applyDisplay(candidate);
  renderPanel(`${layer.entry.id}-${direction < 0 ? 'up' : 'down'}`);
}

export function mountLayerPanel(element: HTMLElement): void {
  panel = element;
  renderPanel();
}

function renderPanel(focusKey?: string): void {
  if (!panel) return;
  const focused = focusKey ?? (document.activeElement as HTMLElement | null)?.dataset.focusKey;
  clear(panel);
  if (layers.length === 0) {
    panel.appendChild(catalogueError ? h('p', { class: 'error' }, t('layersUnavailable', { error: catalogueError })) : h('p', { class: 'muted' }, t('layersLoading')));
    return;
  }
  for (const group of GROUP_ORDER) {
    const inGroup = layers.filter((layer) => layer.entry.group === group);
    if (inGroup.length === 0) continue;
    if (group === 'indicators') {
      panel.appendChild(h('div', { class: 'layer-group' }, h('h3', {}, t(GROUP_KEY[group])), indicatorDomains(inGroup)));
      continue;
    }
    if (group === 'sensors' && inGroup.length > 3) {
      const list = h('ul', { class: 'layer-list', role: 'list' });
      inGroup.forEach((layer, position) => list.appendChild(layerRow(layer, position, inGroup.length)));
      const shown = inGroup.filter((layer) => layer.visible).length;
      const details = h('details', { class: 'domain', open: openDomains.has('#sensors') }, h('summary', {}, `${t(GROUP_KEY[group])} (${shown}/${inGroup.length})`), list);
      details.addEventListener('toggle', () => {
        if (details.open) openDomains.add('#sensors');
        else openDomains.delete('#sensors');
      });
      panel.appendChild(h('div', { class: 'layer-group' }, details));
      continue;
    }
    const list = h('ul', { class: 'layer-list', role: 'list' });
    inGroup.forEach((layer, position) => list.appendChild(layerRow(layer, position, inGroup.length)));
    panel.appendChild(h('div', { class: 'layer-group' }, h('h3', {}, t(GROUP_KEY[group])), list));
  }
  if (focused) panel.querySelector<HTMLElement>(`[data-focus-key="${focused}"]`)?.focus();
}

const openDomains = new Set<string>();

/** The many indicator layers, folded per domain (air, noise, ...). */
function indicatorDomains(inGroup: LayerState[]): HTMLElement[] {
  const domains = [...new Set(inGroup.map((layer) => layer.entry.domain ?? ''))];
  return domains.map((domain) => {
    const list = h('ul', { class: 'layer-list', role: 'list' });
    inGroup.forEach((layer, position) => {
      if ((layer.entry.domain ?? '') === domain) list.appendChild(layerRow(layer, position, inGroup.length));
    });
    const shown = inGroup.filter((layer) => (layer.entry.domain ?? '') === domain && layer.visible).length;
    const details = h(
      'details',
      { class: 'domain', open: openDomains.has(domain) || shown > 0 },
      h('summary', {}, tMaybe(`domain_${domain}`, domain || '–'), shown > 0 ? ` (${shown})` : ''),
      list,
    );
    details.addEventListener('toggle', () => {
      if (details.open) openDomains.add(domain);
      else openDomains.delete(domain);
    });
    return details;
  });
}

function layerTitle(entry: CatalogueLayer): string {
  const title = localized(entry.title);
  return entry.group === 'indicators' ? indicatorTitle(entry.column?.replace(/_baseline$/, '') ?? entry.id.replace(/^indicator:/, ''), title) : title;
}

function layerRow(layer: LayerState, position: number, count: number): HTMLElement {
  const title = layerTitle(layer.entry);
  const checkboxId = uid('layer');
  const checkbox = h('input', {
    type: 'checkbox',
    id: checkboxId,
    'data-focus-key': `${layer.entry.id}-visible`,
    'data-testid': `layer-visible-${layer.entry.id}`,
    onchange: (event: Event) => {
      layer.visible = (event.target as HTMLInputElement).checked;
      applyDisplay(layer);
      renderPanel(`${layer.entry.id}-visible`);
    },
  });
  checkbox.checked = layer.visible;
  const opacity = h('input', {
    type: 'range',
    min: 0,
    max: 100,
    step: 5,
    value: Math.round(layer.opacity * 100),
    'aria-label': t('layerOpacity', { layer: title }),
    'data-focus-key': `${layer.entry.id}-opacity`,
    oninput: (event: Event) => {
      layer.opacity = Number((event.target as HTMLInputElement).value) / 100;
      applyDisplay(layer);
    },
  });
  const up = h(
    'button',
    {
      type: 'button',
      class: 'icon',
      'aria-label': t('layerUp', { layer: title }),
      title: t('layerUp', { layer: title }),
      'data-focus-key': `${layer.entry.id}-up`,
      disabled: position === 0,
      onclick: () => move(layer, -1),
    },
    '▲',
  );
  const down = h(
    'button',
    {
      type: 'button',
      class: 'icon',
      'aria-label': t('layerDown', { layer: title }),
      title: t('layerDown', { layer: title }),
      'data-focus-key': `${layer.entry.id}-down`,
      disabled: position === count - 1,
      onclick: () => move(layer, 1),
    },
    '▼',
  );
  const attributes = layer.entry.attributes ?? [];
  const attributeSelect =
    layer.entry.group === 'indicators' && attributes.length > 1
      ? h(
          'select',
          {
            'aria-label': `${title}: ${t('colourBy')}`,
            'data-focus-key': `${layer.entry.id}-attribute`,
            onchange: (event: Event) => {
              layer.attribute = (event.target as HTMLSelectElement).value;
              layer.version += 1;
              updateLegend(layer);
              requestRender();
            },
          },
          attributes.map((attribute) => {
            const option = h('option', { value: attribute.name }, localized(attribute.title) || attribute.name);
            option.selected = attribute.name === layer.attribute;
            return option;
          }),
        )
      : null;
  const status =
    layer.status === 'loading'
      ? h('span', { class: 'status', role: 'status' }, '…')
      : layer.status === 'error'
        ? h('span', { class: 'status error', role: 'status', title: layer.error }, '⚠')
        : null;
  return h(
    'li',
    { class: 'layer-row', 'data-layer-id': layer.entry.id },
    h('div', { class: 'layer-main' }, checkbox, h('label', { for: checkboxId, title }, title), status, opacity, up, down),
    attributeSelect,
    layer.status === 'error' ? h('p', { class: 'error small' }, layer.error) : null,
  );
}

export function rerenderLayerPanel(): void {
  renderPanel();
  for (const layer of layers) updateLegend(layer);
}
