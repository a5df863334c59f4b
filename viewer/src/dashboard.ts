// The dashboard ("common operational picture"): per theme the key indicators per wijk or buurt,
// baseline → latest scenario, the sensors' 24-hour trend and the alerts; a row highlights its area.

import { GeoJsonLayer } from '@deck.gl/layers';
import { errorText, getJson, onSessionChange } from './api';
import { buurtFeatures } from './catalogue';
import { HIGHLIGHT } from './colour';
import { loadTable } from './data/loader';
import { cellValue, columnByName, type Table } from './data/types';
import { byTestId, clear, h, uid } from './dom';
import { canRunScenarios } from './governance';
import { formatNumber, formatSigned, formatTime, indicatorTitle, onLangChange, t, tMaybe, type Key } from './i18n';
import { direction, loadModels, type IndicatorMeta } from './models';
import { addProvider, flyToBounds, requestRender } from './map';
import { onScenarioResults } from './scenario';
import { getAlerts, getThings, onSensorUpdate, sparkline, type Datastream } from './sensors';
import { loadStatistics, statisticsTable, type Statistics } from './statistics';

interface Theme {
  key: Key;
  domains: { domain: string; indicators: string[] }[];
  sensorKinds: string[];
}

const THEMES: Theme[] = [
  {
    key: 'dashboardThemeLiveable',
    domains: [
      { domain: 'air', indicators: ['no2_ugm3', 'residents_above_who_share'] },
      { domain: 'noise', indicators: ['lden_mean_db', 'dwellings_above_55db_share'] },
      { domain: 'heat', indicators: ['pet_mean_c', 'dwellings_pet_above_41_share'] },
      { domain: 'green', indicators: ['share_within_500m_green', 'dist_green_m'] },
      { domain: 'proximity', indicators: ['share_within_1000m_gp', 'dist_supermarket_m'] },
    ],
    sensorKinds: ['air_quality_station', 'low_cost_air', 'noise', 'weather'],
  },
  {
    key: 'dashboardThemeSocial',
    domains: [
      { domain: 'demography', indicators: ['pop_total', 'share_65_plus'] },
      { domain: 'care', indicators: ['gp_capacity_ratio', 'nursing_home_shortfall'] },
    ],
    sensorKinds: ['crowd'],
  },
];

/** Units of counts: summed over the buurten of a wijk (others: resident-weighted mean). */
const COUNT_UNITS = new Set(['persons', 'dwellings', 'places', 'patients', 'residents', 'clients per year', 'FTE GP']);

interface Area {
  code: string;
  name: string;
  buurten: string[];
  residents: number;
}

const state = {
  open: false,
  level: 'wijk' as 'wijk' | 'buurt',
  buurten: null as GeoJSON.FeatureCollection | null,
  baseline: null as Table | null,
  table: null as Table | null,
  jobId: null as string | null,
  scenarioName: '',
  indicators: new Map<string, IndicatorMeta>(),
  highlighted: null as { code: string; features: GeoJSON.Feature[] } | null,
  loading: false,
  /** Residents per area from /v1/statistics (suppressed for roles below analyst), per level. */
  statistics: null as Statistics | null,
  statisticsError: '',
  statisticsSerial: 0,
  statisticsPending: null as string | null,
};

let body: HTMLElement | null = null;
let toggle: HTMLButtonElement | null = null;

export function isDashboardOpen(): boolean {
  return state.open;
}

export function closeDashboard(): void {
  setOpen(false);
}

function setOpen(open: boolean): void {
  state.open = open;
  if (!body || !toggle) return;
  body.hidden = !open;
  toggle.setAttribute('aria-expanded', String(open));
  const label = toggle.querySelector('span');
  if (label) label.textContent = open ? t('dashboardClose') : t('dashboardOpen');
  document.body.classList.toggle('dashboard-open', open);
  if (open) {
    render();
    void ensureData();
  }
}

async function latestJob(): Promise<void> {
  // the jobs (and their layers) are for roles that run scenarios; the public sees the baseline
  if (!canRunScenarios()) return;
  try {
    const jobs = await getJson<{ jobs: { jobID: string; status: string; finished?: string; updated?: string; scenario?: string }[] }>('/v1/jobs');
    const done = jobs.jobs
      .filter((job) => job.status === 'successful')
      .sort((a, b) => String(b.finished ?? b.updated).localeCompare(String(a.finished ?? a.updated)));
    const newest = done[0];
    if (newest && !state.jobId) await useJob(newest.jobID, newest.scenario ?? '');
  } catch {
    // no jobs yet (or the jobs endpoint is unavailable): the dashboard shows CBS figures
  }
}

async function useJob(jobId: string, name: string): Promise<void> {
  try {
    const table = await loadTable(`/v1/jobs/${jobId}/layers/buurt.arrow`);
    state.table = table;
    state.jobId = jobId;
    state.scenarioName = name;
  } catch {
    // leave the previous table
  }
  if (state.open) render();
}

async function ensureData(): Promise<void> {
  if (state.buurten || state.loading) return;
  state.loading = true;
  const [buurten, models, baseline] = await Promise.all([
    buurtFeatures().catch(() => null),
    loadModels(),
    loadTable('/v1/viewer/indicators/buurt.arrow').catch(() => null),
  ]);
  state.buurten = buurten;
  state.indicators = models.indicators;
  state.baseline = baseline;
  await latestJob();
  state.loading = false;
  if (state.open) render();
}

/** Residents per buurt or wijk as this role may see them (read again after logging in or out). */
function ensureStatistics(): void {
  if (state.statistics?.level === state.level || state.statisticsError || state.statisticsPending === state.level) return;
  const serial = (state.statisticsSerial += 1);
  const level = state.level;
  state.statisticsPending = level;
  loadStatistics('residents', level)
    .then((statistics) => {
      if (serial === state.statisticsSerial) state.statistics = statistics;
    })
    .catch((error: unknown) => {
      if (serial === state.statisticsSerial) state.statisticsError = errorText(error);
    })
    .finally(() => {
      if (serial !== state.statisticsSerial) return;
      state.statisticsPending = null;
      if (state.open) render();
    });
}

function statisticsBlock(list: Area[]): HTMLElement | null {
  if (state.statisticsError) return h('p', { class: 'small error' }, t('statisticsUnavailable', { error: state.statisticsError }));
  const statistics = state.statistics;
  if (!statistics || statistics.level !== state.level) return null;
  return statisticsTable(statistics, (code) => {
    const area = list.find((candidate) => candidate.code === code);
    if (area) highlight(area);
  });
}

function areas(): Area[] {
  const features = state.buurten?.features ?? [];
  if (state.level === 'buurt') {
    return features
      .map((feature) => ({
        code: String(feature.properties?.bu_code),
        name: String(feature.properties?.bu_naam ?? feature.properties?.bu_code),
        buurten: [String(feature.properties?.bu_code)],
        residents: Number(feature.properties?.aant_inw) || 0,
      }))
      .sort((a, b) => a.code.localeCompare(b.code));
  }
  const wijken = new Map<string, Area>();
  for (const feature of features) {
    const code = String(feature.properties?.wk_code);
    const area = wijken.get(code) ?? { code, name: String(feature.properties?.wk_naam ?? code), buurten: [], residents: 0 };
    area.buurten.push(String(feature.properties?.bu_code));
    area.residents += Number(feature.properties?.aant_inw) || 0;
    wijken.set(code, area);
  }
  return [...wijken.values()].sort((a, b) => a.code.localeCompare(b.code));
}

function residentsOf(code: string): number {
  const feature = state.buurten?.features.find((candidate) => candidate.properties?.bu_code === code);
  return Number(feature?.properties?.aant_inw) || 0;
}

/** Per buurt code: the row of a table with a `code` column. */
const rowIndex = new WeakMap<Table, Map<string, number>>();
function rowsByCode(table: Table): Map<string, number> {
  let rows = rowIndex.get(table);
  if (!rows) {
    rows = new Map();
    const codeColumn = columnByName(table, 'code');
    if (codeColumn) for (let row = 0; row < table.length; row += 1) rows.set(String(cellValue(codeColumn, row)), row);
    rowIndex.set(table, rows);
  }
  return rows;
}

function valueOf(table: Table | null, column: string, code: string): number {
  if (!table) return Number.NaN;
  const values = columnByName(table, column);
  const row = rowsByCode(table).get(code);
  return values?.kind === 'number' && row !== undefined ? (values.values[row] as number) : Number.NaN;
}

/** Whether an indicator has values at buurt level (in the baseline table or the scenario's). */
function hasIndicator(indicator: string): boolean {
  return Boolean((state.baseline && columnByName(state.baseline, `${indicator}_baseline`)) || (state.table && columnByName(state.table, `${indicator}_baseline`)));
}

/** Baseline and scenario of an indicator for an area (sum or resident-weighted mean of its buurten);
 * a buurt the scenario did not change keeps its baseline value. */
function areaValue(area: Area, indicator: string): { baseline: number; scenario: number | null } | null {
  const unit = state.indicators.get(indicator)?.unit ?? '';
  const sum = COUNT_UNITS.has(unit);
  let base = 0;
  let scen = 0;
  let weight = 0;
  for (const code of area.buurten) {
    let b = valueOf(state.baseline, `${indicator}_baseline`, code);
    if (!Number.isFinite(b)) b = valueOf(state.table, `${indicator}_baseline`, code);
    if (!Number.isFinite(b)) continue;
    const changed = valueOf(state.table, `${indicator}_scenario`, code);
    const s = Number.isFinite(changed) ? changed : b;
    const w = sum ? 1 : Math.max(residentsOf(code), area.buurten.length === 1 ? 1 : 0);
    base += b * w;
    scen += s * w;
    weight += w;
  }
  if (weight === 0) return null;
  const scenario = state.table ? (sum ? scen : scen / weight) : null;
  return { baseline: sum ? base : base / weight, scenario };
}

function highlight(area: Area): void {
  const features = (state.buurten?.features ?? []).filter((feature) => area.buurten.includes(String(feature.properties?.bu_code)));
  state.highlighted = { code: area.code, features };
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  const visit = (coordinates: unknown): void => {
    if (Array.isArray(coordinates) && typeof coordinates[0] === 'number') {
      const [x, y] = coordinates as [number, number];
      west = Math.min(west, x);
      east = Math.max(east, x);
      south = Math.min(south, y);
      north = Math.max(north, y);
    } else if (Array.isArray(coordinates)) coordinates.forEach(visit);
  };
  for (const feature of features) visit((feature.geometry as GeoJSON.Polygon | GeoJSON.MultiPolygon).coordinates);
  if (Number.isFinite(west)) flyToBounds([west, south, east, north], 15);
  requestRender();
  render();
}

addProvider({
  layers() {
    if (!state.highlighted) return [];
    return [
      {
        z: 860,
        layer: new GeoJsonLayer({
          id: 'dashboard-highlight',
          data: { type: 'FeatureCollection', features: state.highlighted.features } as GeoJSON.FeatureCollection,
          stroked: true,
          filled: true,
          getFillColor: [255, 64, 129, 40],
          getLineColor: HIGHLIGHT,
          lineWidthUnits: 'pixels',
          getLineWidth: 4,
          parameters: { depthCompare: 'always', depthWriteEnabled: false },
        }),
      },
    ];
  },
});

function trendCell(meta: IndicatorMeta | undefined, values: { baseline: number; scenario: number | null } | null): HTMLElement {
  if (!values) return h('td', { class: 'num muted' }, '–');
  if (values.scenario === null) return h('td', { class: 'num' }, formatNumber(values.baseline));
  const difference = values.scenario - values.baseline;
  const sign = direction(meta?.better ?? null, difference);
  const arrow = Math.abs(difference) < 1e-9 ? '=' : difference > 0 ? '▲' : '▼';
  return h(
    'td',
    { class: `num ${sign > 0 ? 'better' : sign < 0 ? 'worse' : ''}` },
    formatNumber(values.scenario),
    ' ',
    h('span', { class: 'trend', title: `${t('cityBaseline')}: ${formatNumber(values.baseline)}` }, `${arrow} ${Math.abs(difference) < 1e-9 ? '' : formatSigned(difference)}`),
    sign !== 0 ? h('span', { class: 'sr-only' }, ` (${sign > 0 ? t('betterMark') : t('worseMark')})`) : null,
  );
}

function themeTable(theme: Theme, list: Area[]): HTMLElement {
  const indicators = theme.domains.flatMap(({ domain, indicators: ids }) => ids.filter(hasIndicator).map((id) => ({ domain, id })));
  const cbs = indicators.length === 0 && theme.key === 'dashboardThemeSocial';
  const header = h(
    'tr',
    {},
    h('th', { scope: 'col' }, t('dashboardArea')),
    cbs
      ? [h('th', { scope: 'col' }, t('residents')), h('th', { scope: 'col' }, `${t('share65')} (%)`)]
      : indicators.length > 0
        ? indicators.map(({ domain, id }) => {
            const meta = state.indicators.get(id);
            return h(
              'th',
              { scope: 'col' },
              h('span', { class: 'domain-tag' }, tMaybe(`domain_${domain}`, domain)),
              indicatorTitle(id, meta?.title ?? id),
              h('span', { class: 'th-unit' }, meta?.unit && meta.unit !== '-' ? meta.unit : ''),
            );
          })
        : [],
  );
  const rows = list.map((area) => {
    const select = (): void => highlight(area);
    const cells = cbs
      ? [
          h('td', { class: 'num' }, formatNumber(area.residents)),
          h('td', { class: 'num' }, formatNumber(cbsShare65(area))),
        ]
      : indicators.map(({ id }) => trendCell(state.indicators.get(id), areaValue(area, id)));
    return h(
      'tr',
      { class: state.highlighted?.code === area.code ? 'highlighted' : '', 'data-area': area.code, onclick: select },
      h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', 'aria-label': t('dashboardHighlight', { area: area.name }), onclick: (event: Event) => {
        event.stopPropagation();
        select();
      } }, area.name)),
      cells,
    );
  });
  const captionId = uid('theme');
  return h(
    'section',
    { class: 'theme', 'aria-labelledby': captionId },
    h('h3', { id: captionId }, t(theme.key)),
    cbs ? h('p', { class: 'small muted' }, t('dashboardCbs')) : null,
    indicators.length > 0 || cbs ? h('div', { class: 'table-wrap' }, h('table', { class: 'dashboard-table' }, h('thead', {}, header), h('tbody', {}, rows))) : null,
  );
}

function cbsShare65(area: Area): number {
  let weighted = 0;
  let residents = 0;
  for (const feature of state.buurten?.features ?? []) {
    if (!area.buurten.includes(String(feature.properties?.bu_code))) continue;
    const share = Number(feature.properties?.p_65_eo_jr);
    const count = Number(feature.properties?.aant_inw) || 0;
    if (Number.isFinite(share)) {
      weighted += share * count;
      residents += count;
    }
  }
  return residents > 0 ? weighted / residents : Number.NaN;
}

function trendOf(stream: Datastream): number | null {
  const first = stream.hourly[0];
  const last = stream.hourly.at(-1);
  return first && last && first !== last ? last[1] - first[1] : null;
}

function sensorsBlock(theme: Theme): HTMLElement | null {
  const things = getThings().filter((thing) => theme.sensorKinds.includes(thing.kind));
  if (things.length === 0) return null;
  const alerts = getAlerts();
  return h(
    'div',
    { class: 'dashboard-sensors' },
    h('h4', {}, `${t('dashboardSensors')}: ${t(theme.key).toLowerCase()}`),
    h(
      'ul',
      { class: 'sensor-trends' },
      things.flatMap((thing) =>
        thing.datastreams.map((stream) => {
          const trend = trendOf(stream);
          const alertCount = alerts.filter((alert) => alert.datastream_id === stream.id).length;
          return h(
            'li',
            { class: alertCount > 0 ? 'alerting' : '' },
            h('span', { class: 'name' }, `${thing.name} · ${stream.property}`),
            h('span', { class: 'value' }, stream.latest ? `${formatNumber(stream.latest.value)} ${stream.unit}` : '–'),
            sparkline(stream, 72, 18),
            h('span', { class: 'trend small' }, trend === null ? '' : `${trend > 0 ? '▲' : trend < 0 ? '▼' : '='} ${formatSigned(trend)}`),
            alertCount > 0 ? h('span', { class: 'badge alert' }, `${alertCount} ${t('dashboardAlerts').toLowerCase()}`) : null,
          );
        }),
      ),
    ),
  );
}

function alertsBlock(): HTMLElement {
  const alerts = getAlerts().slice(0, 8);
  const things = getThings();
  const nameOf = (streamId: number): string => {
    for (const thing of things) for (const stream of thing.datastreams) if (stream.id === streamId) return `${thing.name} · ${stream.property}`;
    return `#${streamId}`;
  };
  return h(
    'section',
    { class: 'theme alerts-block', 'aria-live': 'polite' },
    h('h3', {}, t('dashboardAlerts')),
    alerts.length === 0
      ? h('p', { class: 'small muted' }, t('sensorsNoAlerts'))
      : h('ul', { class: 'alert-list' }, alerts.map((alert) => h('li', { class: `alert ${alert.severity}` }, h('strong', {}, nameOf(alert.datastream_id)), ` ${formatTime(alert.phenomenonTime)}: ${alert.message}`))),
  );
}

function render(): void {
  if (!body || !state.open) return;
  const focusKey = (document.activeElement as HTMLElement | null)?.closest('tr')?.dataset.area;
  clear(body);
  if (!state.buurten) {
    body.appendChild(h('p', { class: 'muted' }, t('dashboardLoading')));
    return;
  }
  const levelId = uid('dashboard-level');
  const levelSelect = h(
    'select',
    {
      id: levelId,
      onchange: (event: Event) => {
        state.level = (event.target as HTMLSelectElement).value as 'wijk' | 'buurt';
        state.statisticsError = '';
        render();
      },
    },
    h('option', { value: 'wijk' }, t('dashboardWijk')),
    h('option', { value: 'buurt' }, t('dashboardBuurt')),
  );
  levelSelect.value = state.level;
  const list = areas();
  body.append(
    h(
      'div',
      { class: 'dashboard-controls' },
      h('label', { for: levelId }, t('dashboardLevel')),
      levelSelect,
      h('p', { class: 'small muted' }, state.table && state.jobId ? t('dashboardFromJob', { name: state.scenarioName || '–', job: state.jobId.slice(0, 8) }) : t('dashboardNoScenario')),
      h('p', { class: 'small notice' }, t('dashboardModelled')),
    ),
    h(
      'div',
      { class: 'dashboard-grid' },
      h('div', { class: 'dashboard-side' }, alertsBlock(), THEMES.map(sensorsBlock)),
      h('div', { class: 'dashboard-main' }, THEMES.map((theme) => themeTable(theme, list)), statisticsBlock(list)),
    ),
  );
  ensureStatistics();
  if (focusKey) body.querySelector<HTMLElement>(`tr[data-area="${focusKey}"] button`)?.focus();
}

export function mountDashboard(): void {
  body = document.getElementById('dashboard-body');
  toggle = byTestId<HTMLButtonElement>('dashboard-toggle');
  toggle.addEventListener('click', () => setOpen(!state.open));
  onLangChange(() => {
    setOpen(state.open);
  });
  let pending: ReturnType<typeof setTimeout> | null = null;
  onSensorUpdate(() => {
    if (!state.open || pending) return;
    pending = setTimeout(() => {
      pending = null;
      render();
    }, 2000);
  });
  onScenarioResults((results, jobId) => {
    void useJob(jobId, results.comparison.scenario.name);
  });
  onSessionChange(() => {
    state.statistics = null;
    state.statisticsError = '';
    state.statisticsSerial += 1;
    state.statisticsPending = null;
    if (!state.jobId && state.buurten) void latestJob();
    if (state.open) render();
  });
}
