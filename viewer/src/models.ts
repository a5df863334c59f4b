// Impact-model metadata (/v1/models): indicators with units, domains and the better direction.

import { getJson } from './api';

export interface IndicatorMeta {
  id: string;
  title: string;
  unit: string;
  domain: string;
  better: 'lower' | 'higher' | 'neutral' | null;
  levels: string[];
  description?: string;
  model: string;
}

export interface ModelMeta {
  id: string;
  title: string;
  method?: string;
  indicators: Omit<IndicatorMeta, 'model'>[];
  parameters: { name: string; default: unknown; unit?: string; source?: string; description?: string }[];
}

let cache: Promise<{ models: ModelMeta[]; indicators: Map<string, IndicatorMeta> }> | null = null;

export function loadModels(): Promise<{ models: ModelMeta[]; indicators: Map<string, IndicatorMeta> }> {
  cache ??= getJson<{ models: ModelMeta[] }>('/v1/models')
    .then(({ models }) => {
      const indicators = new Map<string, IndicatorMeta>();
      for (const model of models) {
        for (const indicator of model.indicators) indicators.set(indicator.id, { ...indicator, model: model.id });
      }
      return { models, indicators };
    })
    .catch(() => {
      cache = null;
      return { models: [], indicators: new Map<string, IndicatorMeta>() };
    });
  return cache;
}

/** Whether a change is an improvement: +1 better, -1 worse, 0 neutral or no change. */
export function direction(better: IndicatorMeta['better'] | undefined, difference: number): number {
  if (!Number.isFinite(difference) || difference === 0 || !better || better === 'neutral') return 0;
  return (better === 'lower') === difference < 0 ? 1 : -1;
}
