// The map: MapLibre GL for the offline basemap, deck.gl (MapboxOverlay, overlaid) for everything else.
// Modules register layer providers; requestRender() collects their layers once per animation frame.

import { Map as MapLibreMap, setWorkerUrl, type StyleSpecification } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import { MapboxOverlay } from '@deck.gl/mapbox';
import type { Layer, PickingInfo } from '@deck.gl/core';
import { apiUrl, errorText, getJson } from './api';

setWorkerUrl(workerUrl);

export const INITIAL_VIEW = { center: [4.683, 51.806] as [number, number], zoom: 13.4, pitch: 55, bearing: -18 };

export interface LayerProvider {
  /** Layers with their stacking position (higher is drawn later, on top). */
  layers(): { z: number; layer: Layer | null }[];
}

/** A click on the map: a tool may take it (return true) before selection handles it. */
export type PickHandler = (info: PickingInfo, lngLat: [number, number] | null) => boolean;

/** True when WebGL runs on a CPU (SwiftShader, llvmpipe): then no multisampling, fewer redraws. */
export const softwareRenderer: boolean = (() => {
  const override = new URLSearchParams(location.search).get('software');
  if (override === '1' || override === '0') return override === '1';
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|software|softpipe/i.test(renderer);
  } catch {
    return false;
  }
})();

const providers = new Set<LayerProvider>();
const pickHandlers: PickHandler[] = [];
let overlay: MapboxOverlay | null = null;
let map: MapLibreMap | null = null;
let frameRequested = false;
const afterRenderCallbacks: ((gl: WebGL2RenderingContext) => void)[] = [];
let tooltip: ((info: PickingInfo) => string | null) | null = null;

export function getMap(): MapLibreMap {
  if (!map) throw new Error('map not created');
  return map;
}

export function getOverlay(): MapboxOverlay {
  if (!overlay) throw new Error('overlay not created');
  return overlay;
}

export function addProvider(provider: LayerProvider): void {
  providers.add(provider);
  requestRender();
}

/** Handlers are asked in the order added; the first that returns true takes the click. */
export function addPickHandler(handler: PickHandler, first = false): void {
  if (first) pickHandlers.unshift(handler);
  else pickHandlers.push(handler);
}

export function setTooltip(handler: (info: PickingInfo) => string | null): void {
  tooltip = handler;
}

/** Run once after the next deck.gl frame has been drawn (its commands issued). */
export function afterNextRender(callback: (gl: WebGL2RenderingContext) => void): void {
  afterRenderCallbacks.push(callback);
}

/** Resolve when the GPU has finished the commands issued so far (a fence, polled without blocking). */
export function gpuDone(gl: WebGL2RenderingContext): Promise<void> {
  const sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
  gl.flush();
  return new Promise((resolve) => {
    const poll = (): void => {
      const status = sync ? gl.clientWaitSync(sync, 0, 0) : gl.ALREADY_SIGNALED;
      if (status === gl.ALREADY_SIGNALED || status === gl.CONDITION_SATISFIED || status === gl.WAIT_FAILED) {
        if (sync) gl.deleteSync(sync);
        resolve();
      } else {
        setTimeout(poll, 20);
      }
    };
    poll();
  });
}

export function requestRender(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    renderNow();
  });
}

export function renderNow(): void {
  if (!overlay) return;
  const entries: { z: number; layer: Layer }[] = [];
  for (const provider of providers) {
    for (const entry of provider.layers()) if (entry.layer) entries.push(entry as { z: number; layer: Layer });
  }
  entries.sort((a, b) => a.z - b.z);
  overlay.setProps({ layers: entries.map((entry) => entry.layer) });
}

const FALLBACK_STYLE: StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9ece6' } }],
};

async function basemapStyle(): Promise<{ style: StyleSpecification; error: string | null }> {
  try {
    const style = await getJson<StyleSpecification>('/v1/basemap/style.json?theme=light');
    return { style, error: null };
  } catch (error) {
    return { style: FALLBACK_STYLE, error: errorText(error) };
  }
}

export async function createMap(container: HTMLElement): Promise<{ basemapError: string | null }> {
  const { style, error } = await basemapStyle();
  map = new MapLibreMap({
    container,
    style,
    center: INITIAL_VIEW.center,
    zoom: INITIAL_VIEW.zoom,
    pitch: INITIAL_VIEW.pitch,
    bearing: INITIAL_VIEW.bearing,
    maxPitch: 80,
    minZoom: 9,
    maxZoom: 19,
    attributionControl: false,
    transformRequest: (url) => ({ url: apiUrl(url) }),
  });
  const canvas = map.getCanvas();
  canvas.setAttribute('tabindex', '0');
  overlay = new MapboxOverlay({
    interleaved: false,
    layers: [],
    pickingRadius: 3,
    useDevicePixels: true,
    deviceProps: { webgl: { antialias: !softwareRenderer } },
    onClick: (info: PickingInfo) => {
      const lngLat = info.coordinate ? ([info.coordinate[0], info.coordinate[1]] as [number, number]) : null;
      for (const handler of pickHandlers) if (handler(info, lngLat)) return true;
      return false;
    },
    getTooltip: (info: PickingInfo) => {
      const text = tooltip ? tooltip(info) : null;
      return text ? { text, className: 'deck-tooltip' } : null;
    },
    onAfterRender: ({ gl }: { gl: WebGL2RenderingContext }) => {
      const callbacks = afterRenderCallbacks.splice(0);
      for (const callback of callbacks) callback(gl);
    },
  });
  map.addControl(overlay);
  return { basemapError: error };
}

/** The deck.gl pick at a pixel of the map container (CSS pixels). */
export function pickAt(x: number, y: number, layerIds?: string[]): PickingInfo | null {
  if (!overlay) return null;
  return overlay.pickObject({ x, y, radius: 3, ...(layerIds ? { layerIds } : {}) }) ?? null;
}

/** Treat a pick as a click: the handlers run as for a real click. */
export function clickPick(info: PickingInfo): void {
  const lngLat = info.coordinate ? ([info.coordinate[0], info.coordinate[1]] as [number, number]) : null;
  for (const handler of pickHandlers) if (handler(info, lngLat)) return;
}

export function flyToBounds(bounds: [number, number, number, number], maxZoom = 16): void {
  getMap().fitBounds(
    [
      [bounds[0], bounds[1]],
      [bounds[2], bounds[3]],
    ],
    {
      padding: { top: 80, bottom: document.body.classList.contains('dashboard-open') ? window.innerHeight * 0.45 + 40 : 80, left: 380, right: 360 },
      maxZoom,
      duration: 800,
    },
  );
}
