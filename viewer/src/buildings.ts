// The buildings: one SolidPolygonLayer in binary mode over the worker's typed arrays, extruded by
// height, coloured by an attribute (or by a scenario's values), estimated heights shown paler.

import type { Layer } from '@deck.gl/core';
import { BuildingMeshLayer } from './building-mesh-layer';
import {
  CATEGORICAL,
  HIGHLIGHT,
  NO_DATA,
  PALETTES,
  lighten,
  lookupTable,
  robustRange,
  type RGB,
  type SequentialPalette,
} from './colour';
import { cellValue, type Buildings, type Column } from './data/types';
import { withheldFields } from './governance';
import { getLang, t } from './i18n';
import { setLegend, type LegendEntry } from './legend';
import { addProvider, requestRender, softwareRenderer } from './map';
import { SwipeExtension, type SwipeProps } from './swipe';

export const BUILDINGS_LAYER_ID = 'buildings';
const UNIFORM: RGB = [222, 214, 198];

export interface AttributeRow {
  name: string;
  title: string;
  value: string | number | boolean | null;
  unit: string;
  source: string;
  method: string;
  estimated: boolean;
  /** A personal or confidential field the user's role does not receive ("only for authorised roles"). */
  restricted?: boolean;
}

export interface ScenarioColouring {
  /** count * 4 RGBA; the layer shows these instead of the attribute colours. */
  colours: Uint8Array;
  /** For compare mode: colours of the scenario side (the colours above are the baseline side). */
  scenarioColours?: Uint8Array;
}

const state = {
  data: null as Buildings | null,
  colourBy: 'height_m',
  palette: 'viridis' as SequentialPalette,
  showEstimated: false,
  visible: true,
  opacity: 1,
  z: 10,
  attributeColours: null as Uint8Array | null,
  scenario: null as ScenarioColouring | null,
  compareFraction: null as number | null,
  marked: new Set<number>(),
  markedBy: new Map<string, Set<number>>(),
  version: 0,
  idIndex: null as Map<string, number> | null,
  estimatedMethod: '',
};

const swipe = new SwipeExtension();

export function getBuildings(): Buildings | null {
  return state.data;
}

export function colourableColumns(): Column[] {
  const data = state.data;
  if (!data) return [];
  return data.columns.filter((column) => column.kind === 'number' || column.kind === 'category' || column.kind === 'bool');
}

export function columnTitle(column: Column): string {
  return (getLang() === 'nl' ? column.meta.title_nl : undefined) || column.meta.title || column.name;
}

export function getColourSettings(): { colourBy: string; palette: SequentialPalette; showEstimated: boolean } {
  return { colourBy: state.colourBy, palette: state.palette, showEstimated: state.showEstimated };
}

export function setBuildings(data: Buildings): void {
  state.data = data;
  const heightColumn = data.columns.find((column) => column.name === 'height_m');
  const estimatedColumn = data.columns.find((column) => column.name === 'height_estimated');
  state.estimatedMethod = estimatedColumn?.meta.method || heightColumn?.meta.method || '';
  if (!data.columns.some((column) => column.name === state.colourBy)) state.colourBy = 'uniform';
  recolour();
}

export function setColourBy(name: string): void {
  state.colourBy = name;
  recolour();
}

export function setPalette(palette: SequentialPalette): void {
  state.palette = palette;
  recolour();
}

export function setShowEstimated(show: boolean): void {
  state.showEstimated = show;
  recolour();
}

export function setBuildingDisplay(display: { visible?: boolean; opacity?: number; z?: number }): void {
  Object.assign(state, Object.fromEntries(Object.entries(display).filter(([, value]) => value !== undefined)));
  requestRender();
}

/** Colours from a scenario (difference or baseline/scenario values); null returns to the attribute. */
export function setScenarioColouring(colouring: ScenarioColouring | null): void {
  state.scenario = colouring;
  state.version += 1;
  setLegend('buildings', state.scenario ? null : attributeLegend);
  requestRender();
}

/** Swipe divider (fraction of the width) while comparing; null shows one layer. */
export function setCompareFraction(fraction: number | null): void {
  state.compareFraction = fraction;
  requestRender();
}

/** Buildings painted in the highlight colour, per purpose (the selection, an intervention's picks). */
export function setMarked(purpose: string, indices: Iterable<number>): void {
  state.markedBy.set(purpose, new Set(indices));
  state.marked = new Set([...state.markedBy.values()].flatMap((set) => [...set]));
  state.version += 1;
  requestRender();
}

export function indexOfId(id: string | number): number {
  const data = state.data;
  if (!data) return -1;
  if (!state.idIndex) state.idIndex = new Map(data.ids.map((value, index) => [value, index]));
  return state.idIndex.get(String(id)) ?? -1;
}

/** Columns that describe another column (its per-row estimated flag or the rule that produced it). */
function describing(data: Buildings, name: string): { flag?: Column; rule?: Column } {
  const found: { flag?: Column; rule?: Column } = {};
  for (const column of data.columns) {
    const target = column.meta.describes ?? (column.name.endsWith('_estimated') ? column.name.slice(0, -10) : undefined);
    if (target !== name && !(target && name.startsWith(`${target}_`))) continue;
    if (column.kind === 'bool') found.flag = column;
    else if (column.kind === 'category' || column.kind === 'string') found.rule = column;
  }
  return found;
}

/** The attributes of one building as served in buildings.arrow, with source and estimated flag. */
export function buildingAttributes(index: number): AttributeRow[] {
  const data = state.data;
  if (!data) return [];
  return data.columns
    .filter((column) => !column.meta.describes && !column.name.endsWith('_estimated'))
    .map((column) => {
      const { flag, rule } = describing(data, column.name);
      const flagValue = flag ? cellValue(flag, index) : null;
      const estimated = typeof flagValue === 'boolean' ? flagValue : column.meta.estimated === 'true';
      const ruleValue = rule ? cellValue(rule, index) : null;
      const method = [column.meta.method, ruleValue != null ? `${columnTitle(rule as Column)}: ${String(ruleValue)}` : '']
        .filter(Boolean)
        .join(' — ');
      return {
        name: column.name,
        title: columnTitle(column),
        value: cellValue(column, index),
        unit: column.meta.unit ?? '',
        source: column.meta.source ?? '',
        method,
        estimated,
      };
    });
}

/** Personal or confidential building fields this role does not receive (title for display). */
export function withheldBuildingColumns(): { name: string; title: string }[] {
  const data = state.data;
  if (!data) return [];
  return withheldFields('buildings', data.columns.map((column) => column.name)).map((field) => ({
    name: field.name,
    title: field.name === 'residents_est' ? t('residentsEstTitle') : field.name,
  }));
}

/** The withheld fields as info-panel rows that say they are only for authorised roles. */
export function withheldBuildingRows(): AttributeRow[] {
  return withheldBuildingColumns().map(({ name, title }) => ({ name, title, value: null, unit: '', source: '', method: '', estimated: false, restricted: true }));
}

function attributeLegend(): LegendEntry | null {
  const data = state.data;
  if (!data) return null;
  const notes = state.showEstimated
    ? [t('estimatedLegend', { method: state.estimatedMethod || '–' }), t('measuredLegend')]
    : [];
  const column = data.columns.find((candidate) => candidate.name === state.colourBy);
  if (!column) return { kind: 'categorical', title: t('colourBy'), items: [{ label: '—', colour: UNIFORM }], notes };
  const title = columnTitle(column);
  if (column.kind === 'number') {
    const [min, max] = robustRange(column.values);
    return { kind: 'sequential', title, unit: column.meta.unit, stops: PALETTES[state.palette], min, max, notes };
  }
  if (column.kind === 'bool') {
    return {
      kind: 'categorical',
      title,
      items: [
        { label: t('yes'), colour: CATEGORICAL[1] as RGB },
        { label: t('no'), colour: CATEGORICAL[0] as RGB },
        { label: t('legendNoData'), colour: NO_DATA },
      ],
      notes,
    };
  }
  if (column.kind === 'category') {
    const order = categoryOrder(column);
    const items = order.slice(0, CATEGORICAL.length - 1).map((code, i) => ({
      label: column.categories[code] ?? '',
      colour: CATEGORICAL[i] as RGB,
    }));
    if (order.length >= CATEGORICAL.length) items.push({ label: t('legendOther'), colour: CATEGORICAL[CATEGORICAL.length - 1] as RGB });
    return { kind: 'categorical', title, items, notes };
  }
  return null;
}

/** Category codes by frequency, most frequent first. */
function categoryOrder(column: Extract<Column, { kind: 'category' }>): number[] {
  const counts = new Array<number>(column.categories.length).fill(0);
  for (const code of column.codes) if (code >= 0) counts[code] = (counts[code] ?? 0) + 1;
  return counts.map((count, code) => ({ count, code })).sort((a, b) => b.count - a.count).map((entry) => entry.code);
}

function recolour(): void {
  const data = state.data;
  if (!data) return;
  const count = data.ids.length;
  const colours = new Uint8Array(count * 4);
  const column = data.columns.find((candidate) => candidate.name === state.colourBy);
  const put = (row: number, [r, g, b]: RGB): void => {
    colours[row * 4] = r;
    colours[row * 4 + 1] = g;
    colours[row * 4 + 2] = b;
    colours[row * 4 + 3] = 255;
  };
  if (!column) {
    for (let row = 0; row < count; row += 1) put(row, UNIFORM);
  } else if (column.kind === 'number') {
    const [min, max] = robustRange(column.values);
    const table = lookupTable(PALETTES[state.palette]);
    for (let row = 0; row < count; row += 1) {
      const value = column.values[row] as number;
      if (!Number.isFinite(value)) {
        put(row, NO_DATA);
        continue;
      }
      const slot = Math.round(Math.min(1, Math.max(0, (value - min) / (max - min))) * 255) * 3;
      put(row, [table[slot] as number, table[slot + 1] as number, table[slot + 2] as number]);
    }
  } else if (column.kind === 'bool') {
    for (let row = 0; row < count; row += 1) {
      const flag = column.flags[row] as number;
      put(row, flag < 0 ? NO_DATA : ((flag === 1 ? CATEGORICAL[1] : CATEGORICAL[0]) as RGB));
    }
  } else if (column.kind === 'category') {
    const order = categoryOrder(column);
    const slotOf = new Map(order.map((code, slot) => [code, Math.min(slot, CATEGORICAL.length - 1)]));
    for (let row = 0; row < count; row += 1) {
      const code = column.codes[row] as number;
      put(row, code < 0 ? NO_DATA : (CATEGORICAL[slotOf.get(code) ?? CATEGORICAL.length - 1] as RGB));
    }
  }
  if (state.showEstimated) {
    for (let row = 0; row < count; row += 1) {
      if (data.heightEstimated[row] === 1) {
        const pale = lighten(
          [colours[row * 4] as number, colours[row * 4 + 1] as number, colours[row * 4 + 2] as number],
          0.62,
        );
        put(row, pale);
      }
    }
  }
  state.attributeColours = colours;
  state.version += 1;
  if (!state.scenario) setLegend('buildings', attributeLegend);
  requestRender();
}

/** The colours with the marked buildings painted in the highlight colour (cached per version). */
const withMarks = new WeakMap<Uint8Array, { version: number; colours: Uint8Array }>();
function markedColours(colours: Uint8Array): Uint8Array {
  if (state.marked.size === 0) return colours;
  const cached = withMarks.get(colours);
  if (cached && cached.version === state.version) return cached.colours;
  const out = colours.slice();
  for (const index of state.marked) out.set(HIGHLIGHT, index * 4);
  withMarks.set(colours, { version: state.version, colours: out });
  return out;
}

function makeLayer(id: string, colours: Uint8Array, swipeSide: number | null): Layer {
  const data = state.data as Buildings;
  const swipeProps: SwipeProps & { extensions: SwipeExtension[] } =
    swipeSide === null ? { extensions: [] } : { extensions: [swipe], swipeFraction: state.compareFraction ?? 0.5, swipeSide };
  return new BuildingMeshLayer({
    id,
    data: { length: data.ids.length },
    mesh: data,
    colours: markedColours(colours),
    colourVersion: state.version,
    coordinateSystem: 'lnglat-offsets',
    coordinateOrigin: [data.origin[0], data.origin[1], 0],
    opacity: state.opacity,
    visible: state.visible,
    pickable: true,
    autoHighlight: swipeSide === null && !softwareRenderer,
    highlightColor: [255, 255, 255, 90],
    ...swipeProps,
  });
}

addProvider({
  layers() {
    if (!state.data || !state.attributeColours) return [];
    const scenario = state.scenario;
    if (scenario?.scenarioColours && state.compareFraction !== null) {
      return [
        { z: state.z, layer: makeLayer(`${BUILDINGS_LAYER_ID}-baseline`, scenario.colours, -1) },
        { z: state.z + 0.01, layer: makeLayer(`${BUILDINGS_LAYER_ID}-scenario`, scenario.scenarioColours, 1) },
      ];
    }
    return [{ z: state.z, layer: makeLayer(BUILDINGS_LAYER_ID, scenario?.colours ?? state.attributeColours, null) }];
  },
});

/** Whether a deck.gl layer id belongs to the buildings. */
export function isBuildingLayer(layerId: string | undefined): boolean {
  return Boolean(layerId && layerId.startsWith(BUILDINGS_LAYER_ID));
}
