// A simple draw tool on the map: a polygon (click vertices), a point or points, or a selection of
// roads or buildings by clicking them. Keyboard: Enter finishes, Escape cancels, Backspace undoes.

import { GeoJsonLayer, PathLayer, ScatterplotLayer, SolidPolygonLayer } from '@deck.gl/layers';
import type { Layer, PickingInfo } from '@deck.gl/core';
import { errorText, getAllFeatures } from './api';
import { getBuildings, isBuildingLayer, setMarked } from './buildings';
import { HIGHLIGHT } from './colour';
import { h } from './dom';
import { t, type Key } from './i18n';
import { addPickHandler, addProvider, getMap, requestRender } from './map';

export type DrawMode = 'polygon' | 'point' | 'points' | 'roads' | 'buildings';

export type DrawResult =
  | { type: 'Polygon'; coordinates: [number, number][][] }
  | { type: 'Point'; coordinates: [number, number] }
  | { type: 'MultiPoint'; coordinates: [number, number][] }
  | { type: 'ids'; ids: number[] };

interface Session {
  mode: DrawMode;
  vertices: [number, number][];
  ids: Set<number>;
  onDone: (result: DrawResult) => void;
  onCancel: () => void;
}

const HINTS: Record<DrawMode, Key> = {
  polygon: 'drawHintPolygon',
  point: 'drawHintPoint',
  points: 'drawHintPoints',
  roads: 'drawHintRoads',
  buildings: 'drawHintBuildings',
};

let session: Session | null = null;
let hintBox: HTMLElement | null = null;
let roads: GeoJSON.FeatureCollection | null = null;
let roadsLoading: Promise<void> | null = null;

export function isDrawing(): boolean {
  return session !== null;
}

function loadRoads(): Promise<void> {
  roadsLoading ??= getAllFeatures('/v1/collections/roads/items?limit=10000')
    .then((collection) => {
      roads = collection;
      requestRender();
    })
    .catch((error: unknown) => {
      roadsLoading = null;
      if (hintBox) hintBox.querySelector('.hint-text')!.textContent = errorText(error);
    });
  return roadsLoading;
}

function showHint(mode: DrawMode): void {
  hintBox?.remove();
  const done = h('button', { type: 'button', class: 'primary', 'data-testid': 'draw-finish', onclick: () => finishDraw() }, t('drawFinish'));
  const cancel = h('button', { type: 'button', 'data-testid': 'draw-cancel', onclick: () => cancelDraw() }, t('drawCancel'));
  hintBox = h('div', { class: 'draw-hint', role: 'status', 'aria-live': 'polite' }, h('p', { class: 'hint-text' }, mode === 'roads' && !roads ? t('roadsLoading') : t(HINTS[mode])), h('div', { class: 'buttons' }, done, cancel));
  document.querySelector('main')?.appendChild(hintBox);
  done.focus();
}

function endSession(): void {
  session = null;
  hintBox?.remove();
  hintBox = null;
  setMarked('tool', []);
  getMap().doubleClickZoom.enable();
  getMap().getCanvas().style.cursor = '';
  requestRender();
}

export function startDraw(mode: DrawMode, onDone: (result: DrawResult) => void, onCancel: () => void = () => {}, initialIds: number[] = []): void {
  if (session) cancelDraw();
  session = { mode, vertices: [], ids: new Set(initialIds), onDone, onCancel };
  getMap().doubleClickZoom.disable();
  getMap().getCanvas().style.cursor = 'crosshair';
  showHint(mode);
  if (mode === 'roads') void loadRoads().then(() => session?.mode === 'roads' && showHint('roads'));
  if (mode === 'buildings') markBuildings();
  requestRender();
}

export function cancelDraw(): void {
  const current = session;
  endSession();
  current?.onCancel();
}

export function finishDraw(): void {
  const current = session;
  if (!current) return;
  const { mode, vertices, ids } = current;
  let result: DrawResult | null = null;
  if (mode === 'polygon' && vertices.length >= 3) result = { type: 'Polygon', coordinates: [closeRing(vertices)] };
  else if (mode === 'point' && vertices.length >= 1) result = { type: 'Point', coordinates: vertices[0] as [number, number] };
  else if (mode === 'points' && vertices.length >= 1) result = vertices.length === 1 ? { type: 'Point', coordinates: vertices[0] as [number, number] } : { type: 'MultiPoint', coordinates: [...vertices] };
  else if ((mode === 'roads' || mode === 'buildings') && ids.size > 0) result = { type: 'ids', ids: [...ids] };
  endSession();
  if (result) current.onDone(result);
  else current.onCancel();
}

/** A ring with the first vertex repeated at the end (GeoJSON). */
export function closeRing(ring: [number, number][]): [number, number][] {
  const first = ring[0];
  const last = ring.at(-1);
  if (!first || !last) return ring;
  return first[0] === last[0] && first[1] === last[1] ? [...ring] : [...ring, first];
}

function markBuildings(): void {
  const data = getBuildings();
  if (!data || !session) return;
  const rows: number[] = [];
  for (const id of session.ids) {
    const row = data.ids.indexOf(String(id));
    if (row >= 0) rows.push(row);
  }
  setMarked('tool', rows);
}

function toggle(ids: Set<number>, id: number): void {
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
}

function onPick(info: PickingInfo, lngLat: [number, number] | null): boolean {
  if (!session) return false;
  const { mode } = session;
  if (mode === 'roads') {
    if (info.layer?.id === 'draw-roads' && info.object) {
      const properties = (info.object as GeoJSON.Feature).properties ?? {};
      const id = Number(properties.edge_id ?? (info.object as GeoJSON.Feature).id);
      if (Number.isFinite(id)) toggle(session.ids, id);
      requestRender();
    }
    return true;
  }
  if (mode === 'buildings') {
    if (isBuildingLayer(info.layer?.id) && info.index >= 0) {
      const id = Number(getBuildings()?.ids[info.index]);
      if (Number.isFinite(id)) toggle(session.ids, id);
      markBuildings();
    }
    return true;
  }
  if (!lngLat) return true;
  if (mode === 'point') {
    session.vertices = [lngLat];
    finishDraw();
    return true;
  }
  const vertices = session.vertices;
  const map = getMap();
  const clicked = { x: info.x, y: info.y };
  const near = (vertex: [number, number] | undefined): boolean => {
    if (!vertex) return false;
    const point = map.project(vertex);
    return Math.hypot(point.x - clicked.x, point.y - clicked.y) < 8;
  };
  if (mode === 'polygon' && vertices.length >= 3 && near(vertices[0])) {
    finishDraw();
    return true;
  }
  if (near(vertices.at(-1))) return true;
  vertices.push(lngLat);
  requestRender();
  return true;
}

function onKey(event: KeyboardEvent): void {
  if (!session) return;
  const target = event.target as HTMLElement | null;
  const typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT');
  if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    cancelDraw();
  } else if (event.key === 'Enter' && !typing && target?.tagName !== 'BUTTON') {
    event.preventDefault();
    finishDraw();
  } else if (event.key === 'Backspace' && !typing) {
    event.preventDefault();
    session.vertices.pop();
    requestRender();
  }
}

export function setupDraw(): void {
  addPickHandler(onPick, true);
  document.addEventListener('keydown', onKey, true);
  getMap().on('dblclick', (event) => {
    if (session?.mode === 'polygon') {
      event.preventDefault();
      finishDraw();
    }
  });
}

function sessionLayers(): Layer[] {
  if (!session) return [];
  const { mode, vertices, ids } = session;
  const result: Layer[] = [];
  if (mode === 'roads' && roads) {
    result.push(
      new GeoJsonLayer({
        id: 'draw-roads',
        data: roads,
        pickable: true,
        stroked: true,
        filled: false,
        lineWidthUnits: 'pixels',
        getLineWidth: (feature: GeoJSON.Feature) => (ids.has(Number(feature.properties?.edge_id)) ? 7 : 4),
        getLineColor: (feature: GeoJSON.Feature) =>
          ids.has(Number(feature.properties?.edge_id)) ? HIGHLIGHT : feature.properties?.car ? [70, 70, 70, 190] : [150, 150, 150, 120],
        parameters: { depthCompare: 'always', depthWriteEnabled: false },
        updateTriggers: { getLineWidth: [...ids].join(), getLineColor: [...ids].join() },
      }),
    );
  }
  if (mode === 'polygon' && vertices.length >= 3) {
    result.push(
      new SolidPolygonLayer({
        id: 'draw-fill',
        data: [vertices],
        getPolygon: (ring: [number, number][]) => ring,
        getFillColor: [255, 64, 129, 60],
        parameters: { depthCompare: 'always', depthWriteEnabled: false },
      }),
    );
  }
  if (vertices.length >= 2 && mode === 'polygon') {
    result.push(
      new PathLayer({
        id: 'draw-path',
        data: [vertices],
        getPath: (path: [number, number][]) => path,
        getColor: HIGHLIGHT,
        widthUnits: 'pixels',
        getWidth: 2,
        parameters: { depthCompare: 'always', depthWriteEnabled: false },
      }),
    );
  }
  if (vertices.length > 0) {
    result.push(
      new ScatterplotLayer({
        id: 'draw-vertices',
        data: vertices,
        getPosition: (vertex: [number, number]) => vertex,
        radiusUnits: 'pixels',
        getRadius: 5,
        getFillColor: [255, 255, 255, 255],
        getLineColor: HIGHLIGHT,
        stroked: true,
        lineWidthUnits: 'pixels',
        getLineWidth: 2,
        parameters: { depthCompare: 'always', depthWriteEnabled: false },
      }),
    );
  }
  return result;
}

addProvider({
  layers() {
    return sessionLayers().map((layer, i) => ({ z: 900 + i, layer }));
  },
});
