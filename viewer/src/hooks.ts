// window.tweeling: the state the browser tests and the benchmark read, and their helper hooks.

import type { Lang } from './i18n';

export interface PickSummary {
  layer: string;
  kind: 'building' | 'buurt' | 'feature' | 'sensor' | 'road';
  id: string | number | null;
  index: number;
  title?: string;
}

export interface TweelingHooks {
  ready: boolean;
  buildingsLoaded: number;
  firstFullFrameMs: number | null;
  buildingBytes: number;
  selected: (PickSummary & { attributes?: Record<string, unknown> }) | null;
  lastSensorUpdate: { datastream: number; value: number; time: string } | null;
  scenarioResult: { jobId: string; differenceLayers: string[] } | null;
  lang: Lang;
  pickAt: (x: number, y: number) => PickSummary | null;
  drawPolygon: (ring: [number, number][]) => boolean;
  /** Extra timings for the benchmark (ms since navigation start). */
  timings: Record<string, number>;
}

declare global {
  interface Window {
    tweeling: TweelingHooks;
  }
}

export const hooks: TweelingHooks = {
  ready: false,
  buildingsLoaded: 0,
  firstFullFrameMs: null,
  buildingBytes: 0,
  selected: null,
  lastSensorUpdate: null,
  scenarioResult: null,
  lang: 'nl',
  pickAt: () => null,
  drawPolygon: () => false,
  timings: {},
};

window.tweeling = hooks;

export function mark(name: string): void {
  hooks.timings[name] = Math.round(performance.now());
}
