// The scenario editor: pick an intervention type, draw it, set its parameters (form generated from
// the process's JSON Schema), run it as an OGC API Processes job, and show the results.

import { GeoJsonLayer } from '@deck.gl/layers';
import { ApiError, errorText, getJson, getSession, onSessionChange, postJson } from './api';
import { loadTable } from './data/loader';
import type { Table } from './data/types';
import { clear, h, uid } from './dom';
import { setupDraw, isDrawing, cancelDraw } from './draw';
import { canRunScenarios } from './governance';
import { hooks } from './hooks';
import { formatNumber, formatSigned, indicatorTitle, onLangChange, t, tMaybe } from './i18n';
import { openLogin, roleNames } from './login';
import { direction, loadModels } from './models';
import { addProvider, requestRender } from './map';
import { InterventionForm, interventionTypes, polygonFromRing, type Geometry, type JsonSchema } from './scenario-form';
import {
  LEVEL_KEY,
  LEVELS,
  differenceLayerNames,
  firstChangedLayer,
  indicatorInfo,
  isComparing,
  mountDivider,
  rerenderScenarioLayers,
  setCompare,
  setJobLayers,
  showDifference,
  type Level,
} from './scenario-layers';

interface JobStatus {
  jobID: string;
  status: 'accepted' | 'running' | 'successful' | 'failed' | 'dismissed';
  message?: string;
  progress?: number;
}

interface CityRow {
  indicator: string;
  title: string;
  domain: string;
  unit: string;
  better: 'lower' | 'higher' | 'neutral' | null;
  baseline: number | null;
  scenario: number | null;
  difference: number | null;
}

export interface Results {
  comparison: {
    scenario: { name: string; interventions: Record<string, unknown>[] };
    city: CityRow[];
    effects: { domains: Record<string, { indicator: string; unit: string }>; rows: Record<string, string | number | null>[] };
    seconds?: { total?: number };
    summary?: string;
  };
  summary?: string;
}

const state = {
  schema: null as JsonSchema | null,
  types: new Map<string, JsonSchema>(),
  type: 'housing_project',
  form: null as InterventionForm | null,
  name: '',
  interventions: [] as Record<string, unknown>[],
  running: false,
  status: '',
  statusError: false,
  results: null as Results | null,
  jobId: null as string | null,
  selectedLayer: null as string | null,
  loadError: '',
};

let container: HTMLElement | null = null;
let formHost: HTMLElement | null = null;
const resultListeners = new Set<(results: Results, jobId: string) => void>();

export function onScenarioResults(listener: (results: Results, jobId: string) => void): void {
  resultListeners.add(listener);
}

function newForm(): void {
  const definition = state.types.get(state.type);
  state.form = definition && state.schema ? new InterventionForm(state.schema, definition, () => requestRender()) : null;
  if (formHost) {
    clear(formHost);
    state.form?.mount(formHost);
  }
  requestRender();
}

function setStatus(text: string, isError = false): void {
  state.status = text;
  state.statusError = isError;
  const line = container?.querySelector<HTMLElement>('.scenario-status');
  if (line) {
    line.textContent = text;
    line.classList.toggle('error', isError);
  }
}

function geometriesOf(intervention: Record<string, unknown>): Geometry[] {
  return ['geometry', 'zone', 'location']
    .map((key) => intervention[key] as Geometry | undefined)
    .filter((geometry): geometry is Geometry => Boolean(geometry));
}

/** The drawn geometries (of the listed interventions and the form) on the map. */
addProvider({
  layers() {
    const geometries = [...state.interventions.flatMap(geometriesOf), ...(state.form?.drawn() ?? [])];
    if (geometries.length === 0 || isDrawing()) return [];
    return [
      {
        z: 850,
        layer: new GeoJsonLayer({
          id: 'scenario-geometry',
          data: { type: 'FeatureCollection', features: geometries.map((geometry) => ({ type: 'Feature', geometry, properties: {} })) } as GeoJSON.FeatureCollection,
          stroked: true,
          filled: true,
          getFillColor: [255, 64, 129, 45],
          getLineColor: [255, 64, 129, 255],
          lineWidthUnits: 'pixels',
          getLineWidth: 2,
          pointType: 'circle',
          pointRadiusUnits: 'pixels',
          getPointRadius: 6,
          parameters: { depthCompare: 'always', depthWriteEnabled: false },
        }),
      },
    ];
  },
});

function interventionLabel(intervention: Record<string, unknown>): string {
  const type = String(intervention.type);
  const name = intervention.name ? ` “${String(intervention.name)}”` : '';
  return `${tMaybe(`type_${type}`, type)}${name}`;
}

function render(): void {
  if (!container) return;
  const focusKey = (document.activeElement as HTMLElement | null)?.dataset.focusKey;
  clear(container);
  if (state.loadError) {
    container.appendChild(h('p', { class: 'error' }, state.loadError));
    return;
  }
  const nameId = uid('scenario-name');
  const typeId = uid('intervention-type');
  const typeSelect = h(
    'select',
    {
      id: typeId,
      'data-testid': 'intervention-type',
      'data-focus-key': 'intervention-type',
      onchange: (event: Event) => {
        state.type = (event.target as HTMLSelectElement).value;
        if (isDrawing()) cancelDraw();
        newForm();
      },
    },
    [...state.types.keys()].map((type) => h('option', { value: type }, tMaybe(`type_${type}`, type))),
  );
  typeSelect.value = state.type;
  formHost = h('div', { class: 'intervention-form' });
  const list = h(
    'ol',
    { class: 'intervention-list' },
    state.interventions.map((intervention, index) =>
      h(
        'li',
        {},
        interventionLabel(intervention),
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'icon',
            'aria-label': t('interventionRemove', { n: index + 1 }),
            title: t('interventionRemove', { n: index + 1 }),
            onclick: () => {
              state.interventions.splice(index, 1);
              render();
              requestRender();
            },
          },
          '×',
        ),
      ),
    ),
  );
  container.append(
    h('div', { class: 'field' }, h('label', { for: nameId }, t('scenarioName')), h('input', {
      id: nameId,
      type: 'text',
      maxlength: 200,
      'data-focus-key': 'scenario-name',
      value: state.name || t('scenarioDefaultName'),
      oninput: (event: Event) => {
        state.name = (event.target as HTMLInputElement).value;
      },
    })),
    h('div', { class: 'field' }, h('label', { for: typeId }, t('interventionType')), typeSelect),
    formHost,
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', 'data-testid': 'intervention-add', 'data-focus-key': 'intervention-add', onclick: addIntervention }, t('interventionAdd')),
      canRunScenarios()
        ? h(
            'button',
            { type: 'button', class: 'primary', 'data-testid': 'scenario-run', 'data-focus-key': 'scenario-run', disabled: state.running, 'aria-busy': state.running ? 'true' : null, onclick: () => void run() },
            t('scenarioRun'),
          )
        : null,
    ),
    canRunScenarios() ? '' : runNotAllowed(),
    h('h3', {}, t('interventionList')),
    state.interventions.length === 0 ? h('p', { class: 'small muted' }, t('interventionNone')) : list,
    h('p', { class: `scenario-status${state.statusError ? ' error' : ''}`, role: 'status', 'aria-live': 'polite' }, state.status),
    resultsSection() ?? '',
  );
  state.form?.mount(formHost);
  if (focusKey) container.querySelector<HTMLElement>(`[data-focus-key="${focusKey}"]`)?.focus();
}

/** Instead of the run button: who may run scenarios, and a way to log in. */
function runNotAllowed(): HTMLElement {
  const session = getSession();
  const text = session
    ? t('scenarioRoleNotAllowed', { roles: roleNames(session.roles) })
    : t('scenarioLoginRequired');
  return h(
    'div',
    { class: 'notice small login-required', 'data-testid': 'scenario-login-required' },
    h('p', {}, text),
    session ? null : h('button', { type: 'button', 'data-focus-key': 'scenario-login', 'aria-haspopup': 'dialog', onclick: (event: Event) => openLogin(event.currentTarget as HTMLElement) }, t('loginButton')),
  );
}

function addIntervention(): void {
  const form = state.form;
  if (!form) return;
  const { intervention, missing } = form.collect();
  if (missing.length > 0) {
    setStatus(t('scenarioNeedsGeometry', { field: missing.join(', ') }), true);
    return;
  }
  state.interventions.push(intervention);
  newForm();
  render();
  setStatus('');
}

function problemText(error: unknown): string {
  if (error instanceof ApiError && error.problem) {
    const params = error.problem['invalid-params'];
    if (Array.isArray(params) && params.length > 0) {
      return `${error.message} — ${params.map((param: { name?: string; reason?: string }) => `${param.name}: ${param.reason}`).join('; ')}`;
    }
  }
  return errorText(error);
}

async function pollJob(jobId: string): Promise<JobStatus> {
  for (;;) {
    const status = await getJson<JobStatus>(`/v1/jobs/${jobId}`);
    if (status.status === 'successful' || status.status === 'failed' || status.status === 'dismissed') return status;
    setStatus(t('scenarioRunning', { message: status.message ?? status.status, progress: status.progress ?? 0 }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function run(): Promise<void> {
  if (state.running) return;
  let interventions = state.interventions;
  if (interventions.length === 0 && state.form) {
    const { intervention, missing } = state.form.collect();
    if (missing.length > 0) {
      setStatus(t('scenarioNeedsGeometry', { field: missing.join(', ') }), true);
      return;
    }
    interventions = [intervention];
  }
  const scenario = { name: state.name || t('scenarioDefaultName'), crs: 'EPSG:4326', interventions };
  state.running = true;
  render();
  setStatus(t('scenarioQueued'));
  try {
    const submitted = await postJson<JobStatus>('/v1/processes/run-scenario/execution', { inputs: { scenario } }, { Prefer: 'respond-async' });
    const jobId = submitted.body.jobID;
    const final = await pollJob(jobId);
    if (final.status !== 'successful') throw new Error(final.message ?? final.status);
    const results = await getJson<Results>(`/v1/jobs/${jobId}/results`);
    await showResults(jobId, results);
    setStatus(t('scenarioDone', { seconds: formatNumber(results.comparison.seconds?.total ?? null, 1) }));
  } catch (error) {
    setStatus(t('scenarioFailed', { error: problemText(error) }), true);
  } finally {
    state.running = false;
    render();
  }
}

/** Read a finished job's results and difference layers (also used for the latest job at start-up). */
export async function showResults(jobId: string, results: Results): Promise<void> {
  const tables: Partial<Record<Level, Table>> = {};
  const { indicators } = await loadModels();
  const buildingIndicators = [...indicators.values()]
    .filter((indicator) => indicator.levels.includes('buildings'))
    .map(({ id, title, unit, domain, better }) => ({ id, title, unit, domain, better }));
  const changed = new Set(results.comparison.city.filter((row) => row.difference).map((row) => row.indicator));
  const firstBuilding = buildingIndicators.find((indicator) => changed.has(indicator.id)) ?? buildingIndicators[0];
  const paths: [Level, string][] = [
    ['grid', `/v1/jobs/${jobId}/layers/grid.arrow`],
    ['roads', `/v1/jobs/${jobId}/layers/roads.arrow`],
    ['buurt', `/v1/jobs/${jobId}/layers/buurt.arrow`],
    ['buildings', `/v1/jobs/${jobId}/layers/buildings.arrow${firstBuilding ? `?indicators=${encodeURIComponent(firstBuilding.id)}` : ''}`],
  ];
  const loaded = await Promise.allSettled(paths.map(([, path]) => loadTable(path)));
  loaded.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') tables[(paths[i] as [Level, string])[0]] = outcome.value;
  });
  state.results = results;
  state.jobId = jobId;
  setJobLayers(jobId, tables, buildingIndicators);
  state.selectedLayer = firstChangedLayer();
  await showDifference(state.selectedLayer);
  hooks.scenarioResult = { jobId, differenceLayers: differenceLayerNames() };
  for (const listener of resultListeners) listener(results, jobId);
  render();
}

function resultsSection(): HTMLElement | null {
  const results = state.results;
  if (!results || !state.jobId) return null;
  const selectId = uid('difference-layer');
  const names = differenceLayerNames();
  const select = h(
    'select',
    {
      id: selectId,
      'data-testid': 'difference-layer-select',
      'data-focus-key': 'difference-layer-select',
      onchange: (event: Event) => {
        state.selectedLayer = (event.target as HTMLSelectElement).value || null;
        void showDifference(state.selectedLayer);
      },
    },
    h('option', { value: '' }, t('differenceNone')),
    LEVELS.map((level) => {
      const inLevel = names.filter((name) => name.startsWith(`${level}:`));
      if (inLevel.length === 0) return null;
      return h(
        'optgroup',
        { label: t(LEVEL_KEY[level]) },
        inLevel.map((name) => {
          const id = name.slice(level.length + 1);
          const info = indicatorInfo(level, id);
          return h('option', { value: name }, `${indicatorTitle(id, info?.title ?? id)}${info?.unit && info.unit !== '-' ? ` (${info.unit})` : ''}`);
        }),
      );
    }),
  );
  select.value = state.selectedLayer ?? '';
  const compare = h(
    'button',
    {
      type: 'button',
      'data-testid': 'compare-toggle',
      'data-focus-key': 'compare-toggle',
      'aria-pressed': String(isComparing()),
      onclick: () => {
        setCompare(!isComparing());
        render();
      },
    },
    t('compareToggle'),
  );
  return h(
    'div',
    { class: 'scenario-results' },
    h('div', { class: 'field' }, h('label', { for: selectId }, t('differenceLayer')), select),
    compare,
    isComparing() ? h('p', { class: 'small muted' }, t('compareOn')) : null,
    effectsTable(results),
    cityTable(results),
    h('p', { class: 'small notice' }, t('estimatedInputs')),
    results.comparison.summary ? h('details', {}, h('summary', {}, t('summaryTitle')), h('pre', { class: 'summary' }, results.comparison.summary)) : null,
  );
}

function betterClass(better: CityRow['better'] | undefined, difference: number | null): string {
  const sign = direction(better ?? null, difference ?? 0);
  return sign > 0 ? 'better' : sign < 0 ? 'worse' : '';
}

function markText(better: CityRow['better'] | undefined, difference: number | null): HTMLElement | null {
  const sign = direction(better ?? null, difference ?? 0);
  if (sign === 0) return null;
  return h('span', { class: 'sr-only' }, ` (${sign > 0 ? t('betterMark') : t('worseMark')})`);
}

function effectsTable(results: Results): HTMLElement {
  const { domains, rows } = results.comparison.effects;
  const betterOf = new Map(results.comparison.city.map((row) => [row.indicator, row.better]));
  const domainNames = Object.keys(domains);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'effects', 'data-testid': 'effects-table' },
      h('caption', {}, t('effectsTitle')),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, t('effectsIntervention')),
          domainNames.map((domain) => {
            const headline = domains[domain];
            const info = results.comparison.city.find((row) => row.indicator === headline?.indicator);
            return h(
              'th',
              { scope: 'col', title: `${indicatorTitle(headline?.indicator ?? '', info?.title ?? headline?.indicator ?? '')} (${headline?.unit ?? ''})` },
              tMaybe(`domain_${domain}`, domain),
              h('span', { class: 'th-unit' }, headline?.unit && headline.unit !== '-' ? headline.unit : ''),
            );
          }),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, String(row.intervention ?? '')),
            domainNames.map((domain) => {
              const value = row[domain];
              const number = typeof value === 'number' ? value : null;
              const better = betterOf.get(domains[domain]?.indicator ?? '');
              return h('td', { class: `num ${betterClass(better, number)}` }, number === null ? '–' : formatSigned(number), markText(better, number));
            }),
          ),
        ),
      ),
    ),
  );
}

function cityTable(results: Results): HTMLElement | null {
  const changed = results.comparison.city.filter((row) => row.difference !== null && row.difference !== 0 && Number.isFinite(row.difference));
  if (changed.length === 0) return null;
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'city', 'data-testid': 'city-table' },
      h('caption', {}, t('cityTitle')),
      h(
        'thead',
        {},
        h('tr', {}, [t('cityIndicator'), t('cityBaseline'), t('cityScenario'), t('cityDifference')].map((label) => h('th', { scope: 'col' }, label))),
      ),
      h(
        'tbody',
        {},
        changed.map((row) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, `${indicatorTitle(row.indicator, row.title)}`, h('span', { class: 'th-unit' }, row.unit !== '-' ? row.unit : ''), h('span', { class: 'domain-tag' }, tMaybe(`domain_${row.domain}`, row.domain))),
            h('td', { class: 'num' }, formatNumber(row.baseline)),
            h('td', { class: 'num' }, formatNumber(row.scenario)),
            h('td', { class: `num ${betterClass(row.better, row.difference)}` }, formatSigned(row.difference), markText(row.better, row.difference)),
          ),
        ),
      ),
    ),
  );
}

export function getResults(): { results: Results | null; jobId: string | null } {
  return { results: state.results, jobId: state.jobId };
}

export function mountScenarioEditor(element: HTMLElement): void {
  container = element;
  setupDraw();
  mountDivider(document.getElementById('compare-divider') as HTMLElement);
  hooks.drawPolygon = (ring: [number, number][]): boolean => {
    if (!state.form?.polygonField()) {
      const withPolygon = [...state.types.keys()].find((type) => type === 'housing_project' || type === 'greening');
      if (!withPolygon) return false;
      state.type = withPolygon;
      newForm();
      render();
    }
    const field = state.form?.polygonField();
    if (!state.form || !field || ring.length < 3) return false;
    state.form.setGeometry(field, polygonFromRing(ring));
    return true;
  };
  onLangChange(() => {
    render();
    rerenderScenarioLayers();
  });
  onSessionChange(() => render());
  render();
  void (async () => {
    try {
      const process = await getJson<{ inputs: { scenario: { schema: JsonSchema } } }>('/v1/processes/run-scenario');
      state.schema = process.inputs.scenario.schema;
      state.types = interventionTypes(state.schema);
      if (!state.types.has(state.type)) state.type = [...state.types.keys()][0] ?? '';
      void loadModels();
      newForm();
    } catch (error) {
      state.loadError = t('scenarioFailed', { error: errorText(error) });
    }
    render();
  })();
}
