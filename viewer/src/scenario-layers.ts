// A scenario's result on the map: difference layers per indicator and level (buildings, 100 m grid,
// roads, buurten) with a diverging palette, and the swipe comparison baseline | scenario.

import { GeoJsonLayer, PathLayer, SolidPolygonLayer } from '@deck.gl/layers';
import type { Layer } from '@deck.gl/core';
import { getBuildings, indexOfId, setCompareFraction, setScenarioColouring } from './buildings';
import { loadTable } from './data/loader';
import { buurtFeatures, cellSquare } from './catalogue';
import { ADDED, PALETTES, REMOVED, UNCHANGED, lookupTable, robustRange, symmetricRange, type RGB } from './colour';
import { cellValue, columnByName, type Column, type Table } from './data/types';
import { indicatorTitle, t, type Key } from './i18n';
import { setLegend } from './legend';
import { addProvider, getMap, requestRender } from './map';
import { swipeExtension } from './swipe';

export type Level = 'buildings' | 'grid' | 'roads' | 'buurt';
export const LEVELS: Level[] = ['buildings', 'grid', 'roads', 'buurt'];
export const LEVEL_KEY: Record<Level, Key> = { buildings: 'levelBuildings', grid: 'levelGrid', roads: 'levelRoads', buurt: 'levelBuurt' };

export interface IndicatorInfo {
  id: string;
  title: string;
  unit: string;
  domain: string;
  better: 'lower' | 'higher' | 'neutral' | null;
}

export interface JobLayers {
  jobId: string;
  /** grid, roads and buurt in full; buildings with one indicator only (for the added/removed buildings). */
  tables: Partial<Record<Level, Table>>;
  indicators: Partial<Record<Level, IndicatorInfo[]>>;
  /** Buildings with one indicator each (?indicators=…): the full layer can be several MB. */
  buildingTables: Map<string, Table>;
}

const state = {
  job: null as JobLayers | null,
  level: null as Level | null,
  indicator: null as string | null,
  compare: false,
  fraction: 0.5,
  buurten: null as GeoJSON.FeatureCollection | null,
  version: 0,
};
const listeners = new Set<(job: JobLayers | null) => void>();
let divider: HTMLElement | null = null;

export function onJobLayers(listener: (job: JobLayers | null) => void): void {
  listeners.add(listener);
}

export function getJobLayers(): JobLayers | null {
  return state.job;
}

function indicatorsOf(table: Table): IndicatorInfo[] {
  const listed = table.schemaMeta['tweeling:indicators'];
  if (listed) {
    try {
      return JSON.parse(listed) as IndicatorInfo[];
    } catch {
      // fall back to the column names
    }
  }
  return table.columns
    .filter((column) => column.name.endsWith('_difference'))
    .map((column) => ({ id: column.name.slice(0, -'_difference'.length), title: column.name, unit: column.meta.unit ?? '', domain: '', better: null }));
}

/** A job's layers: the tables read so far and, for the buildings, the indicators that can be read. */
export function setJobLayers(jobId: string, tables: Partial<Record<Level, Table>>, buildingIndicators: IndicatorInfo[]): JobLayers {
  const indicators: Partial<Record<Level, IndicatorInfo[]>> = {};
  for (const level of LEVELS) {
    const table = tables[level];
    if (table && level !== 'buildings') indicators[level] = indicatorsOf(table).filter((indicator) => columnByName(table, `${indicator.id}_difference`));
  }
  const buildingTables = new Map<string, Table>();
  const first = tables.buildings;
  if (first) for (const indicator of indicatorsOf(first)) buildingTables.set(indicator.id, first);
  const listed = first ? indicatorsOf(first) : [];
  indicators.buildings = [...listed, ...buildingIndicators.filter((indicator) => !listed.some((known) => known.id === indicator.id))];
  state.job = { jobId, tables, indicators, buildingTables };
  state.level = null;
  state.indicator = null;
  if (tables.buurt) void buurtFeatures().then((features) => {
    state.buurten = features;
    requestRender();
  });
  for (const listener of listeners) listener(state.job);
  return state.job;
}

/** Every difference layer of the job as "<level>:<indicator>". */
export function differenceLayerNames(): string[] {
  const job = state.job;
  if (!job) return [];
  return LEVELS.flatMap((level) => (job.indicators[level] ?? []).map((indicator) => `${level}:${indicator.id}`));
}

export function indicatorInfo(level: Level, id: string): IndicatorInfo | undefined {
  return state.job?.indicators[level]?.find((indicator) => indicator.id === id);
}

/** The first difference layer with a change (a sensible default to show after a run). */
export function firstChangedLayer(): string | null {
  const job = state.job;
  if (!job) return null;
  for (const level of ['grid', 'buurt', 'roads', 'buildings'] as Level[]) {
    for (const indicator of job.indicators[level] ?? []) {
      const table = tableFor(level, indicator.id);
      const column = table && columnByName(table, `${indicator.id}_difference`);
      if (column?.kind === 'number' && column.values.some((value) => Number.isFinite(value) && value !== 0)) return `${level}:${indicator.id}`;
    }
  }
  return differenceLayerNames()[0] ?? null;
}

/** The table that holds a level's indicator (buildings: read on first use). */
function tableFor(level: Level, indicator: string): Table | undefined {
  const job = state.job;
  if (!job) return undefined;
  return level === 'buildings' ? job.buildingTables.get(indicator) : job.tables[level];
}

export async function showDifference(name: string | null): Promise<void> {
  if (!name) {
    state.level = null;
    state.indicator = null;
  } else {
    const [level, indicator] = name.split(':') as [Level, string];
    const job = state.job;
    if (job && level === 'buildings' && !job.buildingTables.has(indicator)) {
      try {
        const table = await loadTable(`/v1/jobs/${job.jobId}/layers/buildings.arrow?indicators=${encodeURIComponent(indicator)}`);
        job.buildingTables.set(indicator, table);
      } catch {
        return;
      }
    }
    state.level = level;
    state.indicator = indicator;
  }
  state.version += 1;
  refresh();
}

export function setCompare(on: boolean): void {
  state.compare = on;
  if (divider) divider.hidden = !on;
  state.version += 1;
  refresh();
}

export function isComparing(): boolean {
  return state.compare;
}

function numbers(table: Table, name: string): Float64Array | null {
  const column = columnByName(table, name);
  return column?.kind === 'number' ? column.values : null;
}

interface Colouring {
  /** Difference mode: diverging; compare mode: sequential over baseline and scenario together. */
  mode: 'difference' | 'compare';
  colour: (value: number) => [number, number, number, number];
  baseline: Float64Array | null;
  scenario: Float64Array | null;
  difference: Float64Array | null;
}

function colouring(table: Table, indicator: string): Colouring {
  const baseline = numbers(table, `${indicator}_baseline`);
  const scenario = numbers(table, `${indicator}_scenario`);
  const difference = numbers(table, `${indicator}_difference`);
  if (state.compare && baseline && scenario) {
    const [min, max] = robustRange([...baseline, ...scenario]);
    const lut = lookupTable(PALETTES.viridis);
    return {
      mode: 'compare',
      baseline,
      scenario,
      difference,
      colour: (value) => {
        if (!Number.isFinite(value)) return [...UNCHANGED, 160] as [number, number, number, number];
        const slot = Math.round(Math.min(1, Math.max(0, (value - min) / (max - min))) * 255) * 3;
        return [lut[slot] as number, lut[slot + 1] as number, lut[slot + 2] as number, 230];
      },
    };
  }
  const max = difference ? symmetricRange(difference) : 1;
  const lut = lookupTable(PALETTES.diverging);
  return {
    mode: 'difference',
    baseline,
    scenario,
    difference,
    colour: (value) => {
      if (!Number.isFinite(value) || value === 0) return [...UNCHANGED, 120] as [number, number, number, number];
      const slot = Math.round(((Math.max(-max, Math.min(max, value)) / max + 1) / 2) * 255) * 3;
      return [lut[slot] as number, lut[slot + 1] as number, lut[slot + 2] as number, 235];
    },
  };
}

function updateLegend(table: Table | undefined, info: IndicatorInfo | undefined, paint: Colouring | null): void {
  if (!table || !info || !paint) {
    setLegend('scenario', null);
    return;
  }
  const title = (): string => `${indicatorTitle(info.id, info.title)} — ${t(LEVEL_KEY[state.level as Level])}`;
  if (paint.mode === 'compare') {
    const [min, max] = robustRange([...(paint.baseline ?? []), ...(paint.scenario ?? [])]);
    setLegend('scenario', () => ({
      kind: 'sequential',
      title: `${title()}: ${t('compareBaseline')} | ${t('compareScenario')}`,
      unit: info.unit,
      stops: PALETTES.viridis,
      min,
      max,
      notes: [t('compareOn')],
    }));
  } else {
    const max = paint.difference ? symmetricRange(paint.difference) : 1;
    setLegend('scenario', () => ({
      kind: 'diverging',
      title: `${t('cityDifference')}: ${title()}`,
      unit: info.unit,
      stops: PALETTES.diverging,
      max,
      better: info.better,
      notes: [`${t('legendUnchanged')}: ${t('cityBaseline').toLowerCase()} = ${t('cityScenario').toLowerCase()}`, ...changeNotes()],
    }));
  }
}

/** Legend lines for buildings a scenario adds or removes. */
function changeNotes(): string[] {
  const table = state.job?.tables.buildings;
  const change = table ? columnByName(table, 'change') : undefined;
  if (!table || !change) return [];
  const values = new Set(Array.from({ length: table.length }, (_, row) => cellValue(change, row)));
  return [values.has('added') ? t('legendAdded') : '', values.has('removed') ? t('legendRemoved') : ''].filter(Boolean);
}

function refresh(): void {
  const level = state.level;
  const indicator = state.indicator;
  const table = level && indicator ? tableFor(level, indicator) : undefined;
  const info = level && indicator ? indicatorInfo(level, indicator) : undefined;
  const paint = table && indicator ? colouring(table, indicator) : null;
  updateLegend(table, info, paint);
  if (level === 'buildings' && table && paint) paintBuildings(table, paint);
  else {
    setScenarioColouring(null);
    setCompareFraction(null);
  }
  if (state.compare && divider) divider.hidden = false;
  requestRender();
}

function paintBuildings(table: Table, paint: Colouring): void {
  const data = getBuildings();
  const idColumn = columnByName(table, 'id');
  if (!data || !idColumn) return;
  const count = data.ids.length;
  const fill = (target: Uint8Array, [r, g, b]: RGB, alpha: number): void => {
    for (let row = 0; row < count; row += 1) target.set([r, g, b, alpha], row * 4);
  };
  const left = new Uint8Array(count * 4);
  fill(left, UNCHANGED, 255);
  const right = paint.mode === 'compare' ? new Uint8Array(count * 4) : null;
  if (right) fill(right, UNCHANGED, 255);
  const change = columnByName(table, 'change');
  for (let row = 0; row < table.length; row += 1) {
    const index = indexOfId(String(cellValue(idColumn, row)));
    if (index < 0) continue;
    if (change && cellValue(change, row) === 'removed') {
      if (right) right.set([0, 0, 0, 0], index * 4);
      else left.set([...REMOVED, 255], index * 4);
      continue;
    }
    if (paint.mode === 'compare' && right) {
      left.set(withAlpha(paint.colour(paint.baseline?.[row] ?? Number.NaN)), index * 4);
      right.set(withAlpha(paint.colour(paint.scenario?.[row] ?? Number.NaN)), index * 4);
    } else {
      left.set(withAlpha(paint.colour(paint.difference?.[row] ?? Number.NaN)), index * 4);
    }
  }
  setScenarioColouring(right ? { colours: left, scenarioColours: right } : { colours: left });
  setCompareFraction(right ? state.fraction : null);
}

function withAlpha(colour: [number, number, number, number]): [number, number, number, number] {
  return [colour[0], colour[1], colour[2], 255];
}

/** Buildings a scenario adds (footprint and height in the job's buildings layer), extruded. */
function addedBuildingLayers(): Layer[] {
  const onBuildings = state.level === 'buildings' && state.indicator;
  const table = onBuildings ? tableFor('buildings', state.indicator as string) : state.job?.tables.buildings;
  const rings = table?.polygons.polygon;
  if (!table || !rings) return [];
  const rows = rings.map((polygon, row) => (polygon ? row : -1)).filter((row) => row >= 0);
  if (rows.length === 0) return [];
  const origin = JSON.parse(table.schemaMeta['tweeling:origin'] ?? 'null') as [number, number] | null;
  const heights = numbers(table, 'height_m');
  const paint = onBuildings ? colouring(table, state.indicator as string) : null;
  return sides()
    .filter(({ side }) => side >= 0)
    .map(({ side }) =>
      new SolidPolygonLayer<number>({
        id: `scenario-added-buildings-${side}`,
        data: rows,
        extruded: true,
        pickable: false,
        ...(origin ? { coordinateSystem: 'lnglat-offsets' as const, coordinateOrigin: [origin[0], origin[1], 0] as [number, number, number] } : {}),
        getPolygon: (row) => rings[row] as [number, number][][],
        getElevation: (row) => heights?.[row] ?? 15,
        getFillColor: (row) => {
          const value = paint?.mode === 'compare' ? paint.scenario?.[row] : Number.NaN;
          return paint && Number.isFinite(value) ? withAlpha(paint.colour(value as number)) : [...ADDED, 255];
        },
        updateTriggers: { getFillColor: state.version },
        ...swipeProps(side),
      }),
    );
}

function sides(): { side: number; values: 'baseline' | 'scenario' | 'difference' }[] {
  return state.compare
    ? [
        { side: -1, values: 'baseline' },
        { side: 1, values: 'scenario' },
      ]
    : [{ side: 0, values: 'difference' }];
}

function swipeProps(side: number): Record<string, unknown> {
  return side === 0 ? {} : { extensions: [swipeExtension], swipeFraction: state.fraction, swipeSide: side };
}

function gridLayers(table: Table, paint: Colouring): Layer[] {
  const lon = columnByName(table, 'lon');
  const lat = columnByName(table, 'lat');
  if (lon?.kind !== 'number' || lat?.kind !== 'number') return [];
  const cell = Number(table.schemaMeta['tweeling:cell_size_m'] ?? 100);
  const rows = Array.from({ length: table.length }, (_, row) => row);
  return sides().map(({ side, values }) => {
    const source = paint[values];
    return new SolidPolygonLayer<number>({
      id: `scenario-grid-${values}`,
      data: rows,
      pickable: side === 0,
      getPolygon: (row) => cellSquare(lon.values[row] as number, lat.values[row] as number, cell),
      getFillColor: (row) => paint.colour(source?.[row] ?? Number.NaN),
      parameters: { depthCompare: 'always', depthWriteEnabled: false },
      updateTriggers: { getFillColor: state.version },
      ...swipeProps(side),
    });
  });
}

function roadLayers(table: Table, paint: Colouring): Layer[] {
  const path = table.paths.path;
  if (!path) return [];
  const origin = JSON.parse(table.schemaMeta['tweeling:origin'] ?? 'null') as [number, number] | null;
  const rows = Array.from({ length: table.length }, (_, row) => row);
  return sides().map(({ side, values }) => {
    const source = paint[values];
    return new PathLayer<number>({
      id: `scenario-roads-${values}`,
      data: rows,
      pickable: side === 0,
      positionFormat: 'XY',
      ...(origin ? { coordinateSystem: 'lnglat-offsets' as const, coordinateOrigin: [origin[0], origin[1], 0] as [number, number, number] } : {}),
      getPath: (row) => path.positions.subarray((path.startIndices[row] as number) * 2, (path.startIndices[row + 1] as number) * 2) as unknown as [number, number][],
      getColor: (row) => paint.colour(source?.[row] ?? Number.NaN),
      widthUnits: 'pixels',
      getWidth: 4,
      capRounded: true,
      parameters: { depthCompare: 'always', depthWriteEnabled: false },
      updateTriggers: { getColor: state.version },
      ...swipeProps(side),
    });
  });
}

function buurtLayers(table: Table, paint: Colouring): Layer[] {
  const buurten = state.buurten;
  const codeColumn = columnByName(table, 'code');
  if (!buurten || !codeColumn) return [];
  const rowOf = new Map<string, number>();
  for (let row = 0; row < table.length; row += 1) rowOf.set(String(cellValue(codeColumn, row)), row);
  return sides().map(({ side, values }) => {
    const source = paint[values];
    return new GeoJsonLayer({
      id: `scenario-buurt-${values}`,
      data: buurten,
      pickable: side === 0,
      stroked: true,
      filled: true,
      lineWidthUnits: 'pixels',
      getLineWidth: 1,
      getLineColor: [60, 60, 90, 200],
      getFillColor: (feature: GeoJSON.Feature) => {
        const row = rowOf.get(String(feature.properties?.bu_code));
        const colour = paint.colour(row === undefined ? Number.NaN : source?.[row] ?? Number.NaN);
        return [colour[0], colour[1], colour[2], Math.min(colour[3], 190)];
      },
      parameters: { depthCompare: 'always', depthWriteEnabled: false },
      updateTriggers: { getFillColor: state.version },
      ...swipeProps(side),
    });
  });
}

addProvider({
  layers() {
    const level = state.level;
    const indicator = state.indicator;
    const table = level && indicator ? tableFor(level, indicator) : undefined;
    const added = addedBuildingLayers().map((layer, i) => ({ z: 11 + i * 0.01, layer }));
    if (!table || !indicator || level === 'buildings') return added;
    const paint = colouring(table, indicator);
    const layers = level === 'grid' ? gridLayers(table, paint) : level === 'roads' ? roadLayers(table, paint) : buurtLayers(table, paint);
    return [...added, ...layers.map((layer, i) => ({ z: 300 + i * 0.01, layer }))];
  },
});

/** The value of the shown difference layer for a picked object (for the info panel). */
export function describePick(layerId: string, index: number): { title: string; rows: [string, number | null][]; unit: string } | null {
  if (!layerId.startsWith('scenario-') || !state.level || !state.indicator) return null;
  const table = tableFor(state.level, state.indicator);
  const info = indicatorInfo(state.level, state.indicator);
  if (!table || !info) return null;
  let row = index;
  if (state.level === 'buurt' && state.buurten) {
    const code = state.buurten.features[index]?.properties?.bu_code;
    const codeColumn = columnByName(table, 'code') as Column;
    row = -1;
    for (let r = 0; r < table.length; r += 1) if (String(cellValue(codeColumn, r)) === String(code)) row = r;
  }
  const value = (suffix: string): number | null => {
    const values = numbers(table, `${state.indicator}_${suffix}`);
    const found = row >= 0 ? values?.[row] : undefined;
    return found === undefined || Number.isNaN(found) ? null : found;
  };
  return {
    title: indicatorTitle(info.id, info.title),
    unit: info.unit,
    rows: [
      [t('cityBaseline'), value('baseline')],
      [t('cityScenario'), value('scenario')],
      [t('cityDifference'), value('difference')],
    ],
  };
}

/** The shown building-level indicator of one building (baseline, scenario, difference), if any. */
export function describeBuilding(id: string): { title: string; rows: [string, number | null][]; unit: string } | null {
  if (state.level !== 'buildings' || !state.indicator) return null;
  const table = tableFor('buildings', state.indicator);
  const idColumn = table ? columnByName(table, 'id') : undefined;
  if (!table || !idColumn) return null;
  for (let row = 0; row < table.length; row += 1) {
    if (String(cellValue(idColumn, row)) === id) {
      const info = indicatorInfo('buildings', state.indicator);
      const value = (suffix: string): number | null => {
        const found = numbers(table, `${state.indicator}_${suffix}`)?.[row];
        return found === undefined || Number.isNaN(found) ? null : found;
      };
      return {
        title: indicatorTitle(state.indicator, info?.title ?? state.indicator),
        unit: info?.unit ?? '',
        rows: [
          [t('cityBaseline'), value('baseline')],
          [t('cityScenario'), value('scenario')],
          [t('cityDifference'), value('difference')],
        ],
      };
    }
  }
  return null;
}

/** The swipe divider: drag it, or focus it and use the arrow keys. */
export function mountDivider(element: HTMLElement): void {
  divider = element;
  element.setAttribute('role', 'slider');
  element.setAttribute('tabindex', '0');
  element.setAttribute('aria-valuemin', '0');
  element.setAttribute('aria-valuemax', '100');
  element.setAttribute('data-testid', 'compare-divider');
  const labels = document.createElement('div');
  labels.className = 'divider-labels';
  element.appendChild(labels);
  const place = (): void => {
    const width = getMap().getContainer().clientWidth;
    element.style.left = `${state.fraction * width}px`;
    element.setAttribute('aria-valuenow', String(Math.round(state.fraction * 100)));
    element.setAttribute('aria-label', t('compareSlider'));
    labels.innerHTML = '';
    const left = document.createElement('span');
    left.textContent = t('compareBaseline');
    const right = document.createElement('span');
    right.textContent = t('compareScenario');
    labels.append(left, right);
  };
  const setFraction = (fraction: number): void => {
    state.fraction = Math.min(0.98, Math.max(0.02, fraction));
    place();
    if (state.level === 'buildings') setCompareFraction(state.fraction);
    requestRender();
  };
  element.addEventListener('pointerdown', (event) => {
    element.setPointerCapture(event.pointerId);
    const move = (moveEvent: PointerEvent): void => {
      const rect = getMap().getContainer().getBoundingClientRect();
      setFraction((moveEvent.clientX - rect.left) / rect.width);
    };
    const up = (): void => {
      element.removeEventListener('pointermove', move);
      element.removeEventListener('pointerup', up);
    };
    element.addEventListener('pointermove', move);
    element.addEventListener('pointerup', up);
  });
  element.addEventListener('keydown', (event) => {
    const steps: Record<string, number> = { ArrowLeft: -0.02, ArrowRight: 0.02, PageDown: -0.1, PageUp: 0.1 };
    if (event.key in steps) setFraction(state.fraction + (steps[event.key] as number));
    else if (event.key === 'Home') setFraction(0);
    else if (event.key === 'End') setFraction(1);
    else return;
    event.preventDefault();
  });
  getMap().on('resize', place);
  element.addEventListener('lang', place);
  place();
}

export function rerenderScenarioLayers(): void {
  refresh();
  if (divider) divider.dispatchEvent(new Event('lang'));
}
