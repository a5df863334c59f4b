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
  /** The logged-in user (null: the public). */
  session: { subject: string; roles: string[]; clearance: string } | null;
  /** Column names of the buildings payload as loaded for the current role. */
  buildingColumns: string[];
  /** Incremented each time the buildings are (re)loaded, e.g. after logging in or out. */
  buildingsVersion: number;
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
  session: null,
  buildingColumns: [],
  buildingsVersion: 0,
  pickAt: () => null,
  drawPolygon: () => false,
  timings: {},
};

window.tweeling = hooks;

export function mark(name: string): void {
  hooks.timings[name] = Math.round(performance.now());
}
