// "Registers": the algorithm register (every model with its Algoritmeregister status and a link to
// its readable entry) and the sensor register (purpose, owner, whether it can capture personal data).

import { errorText } from './api';
import { byTestId, clear, h } from './dom';
import { isDrawerOpen, registerDrawer, rerenderDrawer } from './drawer';
import { loadAlgorithms, loadSensorRegister, type AlgorithmEntry, type SensorRegisterEntry } from './governance';
import { onLangChange, t } from './i18n';

const NAME = 'registers';

const state = {
  algorithms: null as AlgorithmEntry[] | null,
  algorithmsError: '',
  sensors: null as SensorRegisterEntry[] | null,
  sensorsError: '',
  loading: false,
};

export function mountRegistersPanel(): void {
  registerDrawer(NAME, byTestId<HTMLButtonElement>('registers-toggle'), byTestId('registers-panel'), 'registersTitle', render);
  onLangChange(() => rerenderDrawer(NAME));
}

export function reloadRegistersPanel(): void {
  state.algorithms = null;
  state.sensors = null;
  state.algorithmsError = '';
  state.sensorsError = '';
  if (isDrawerOpen(NAME)) rerenderDrawer(NAME);
}

function ensureLoaded(): void {
  if (state.loading || (state.algorithms && state.sensors)) return;
  state.loading = true;
  void Promise.allSettled([loadAlgorithms(), loadSensorRegister()]).then(([algorithms, sensors]) => {
    state.loading = false;
    if (algorithms.status === 'fulfilled') state.algorithms = algorithms.value;
    else state.algorithmsError = errorText(algorithms.reason);
    if (sensors.status === 'fulfilled') state.sensors = sensors.value;
    else state.sensorsError = errorText(sensors.reason);
    if (isDrawerOpen(NAME)) rerenderDrawer(NAME);
  });
}

/** CSS class of an Algoritmeregister status ("In gebruik" → in-gebruik). */
function statusClass(status: string): string {
  return `status-${status.toLowerCase().replace(/[^a-z]+/g, '-')}`;
}

function render(body: HTMLElement): void {
  clear(body);
  const missing = (!state.algorithms && !state.algorithmsError) || (!state.sensors && !state.sensorsError);
  if (missing) ensureLoaded();
  body.append(
    h(
      'section',
      { 'aria-labelledby': 'algorithms-title', 'data-testid': 'algorithm-register' },
      h('h3', { id: 'algorithms-title' }, t('algorithmsTitle')),
      h('p', { class: 'small muted' }, t('algorithmsIntro')),
      algorithmList(),
    ),
    h(
      'section',
      { 'aria-labelledby': 'sensor-register-title', 'data-testid': 'sensor-register' },
      h('h3', { id: 'sensor-register-title' }, t('sensorRegisterTitle')),
      h('p', { class: 'small muted' }, t('sensorRegisterIntro')),
      sensorList(),
    ),
  );
}

function algorithmList(): HTMLElement {
  if (state.algorithmsError) return h('p', { class: 'error' }, t('registerUnavailable', { error: state.algorithmsError }));
  if (!state.algorithms) return h('p', { class: 'muted', role: 'status' }, t('registerLoading'));
  if (state.algorithms.length === 0) return h('p', { class: 'muted' }, t('registerEmpty'));
  return h(
    'ul',
    { class: 'register-list' },
    state.algorithms.map((entry) =>
      h(
        'li',
        { 'data-algorithm': entry.id },
        h(
          'div',
          { class: 'register-head' },
          h('strong', {}, entry.name),
          entry.status ? h('span', { class: `badge algorithm-status ${statusClass(entry.status)}`, title: t('algorithmStatusTitle', { status: entry.status }) }, entry.status) : null,
          h('a', { href: entry.htmlUrl, target: '_blank', rel: 'noopener noreferrer', 'aria-label': t('algorithmOpen', { name: entry.name }) }, `${t('algorithmRead')} ↗`),
        ),
        entry.description ? h('p', { class: 'small' }, entry.description) : null,
      ),
    ),
  );
}

function sensorList(): HTMLElement {
  if (state.sensorsError) return h('p', { class: 'error' }, t('registerUnavailable', { error: state.sensorsError }));
  if (!state.sensors) return h('p', { class: 'muted', role: 'status' }, t('registerLoading'));
  if (state.sensors.length === 0) return h('p', { class: 'muted' }, t('registerEmpty'));
  return h(
    'ul',
    { class: 'register-list' },
    state.sensors.map((entry) => h('li', { 'data-thing': entry.thingId ?? '' }, h('strong', {}, entry.name), sensorFacts(entry))),
  );
}

/** Purpose, owner, personal-data flag, legal basis and retention of one sensor (also in the info panel). */
export function sensorFacts(entry: SensorRegisterEntry): HTMLElement {
  const row = (label: string, value: string | Node): HTMLElement[] => (value ? [h('dt', {}, label), h('dd', {}, value)] : []);
  return h(
    'dl',
    { class: 'register-facts small' },
    row(t('sensorPurpose'), entry.purpose),
    row(t('sensorOwner'), entry.owner),
    row(
      t('sensorPersonal'),
      h('span', { class: entry.personalData ? 'badge personal-flag' : '', 'data-personal-data': String(entry.personalData) }, entry.personalData ? t('yes') : t('no')),
    ),
    entry.personalDataKinds.length > 0 ? row(t('sensorPersonalKinds'), entry.personalDataKinds.join(', ')) : [],
    row(t('sensorLegalBasis'), entry.legalBasis),
    row(t('sensorRetention'), entry.retention || (entry.retentionDays !== null ? t('retentionDays', { n: entry.retentionDays }) : '')),
  );
}
