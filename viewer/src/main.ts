// Entry point: builds the page, starts loading the buildings at once (worker), then the map,
// the catalogue, the sensors, the scenario editor and the dashboard.

import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';
import type { PickingInfo } from '@deck.gl/core';
import { errorText, getSession, getToken, onSessionChange, type Session } from './api';
import { isBuildingLayer, setBuildings } from './buildings';
import { catalogueEntry, loadCatalogue, mountLayerPanel, rerenderLayerPanel, tableRowInfo } from './catalogue';
import { mountColourControls, renderColourControls } from './colour-panel';
import { loadBuildings } from './data/loader';
import { byTestId } from './dom';
import { hooks, mark, type PickSummary } from './hooks';
import { applyI18n, formatNumber, getLang, onLangChange, setLang, t } from './i18n';
import { closeInfo, mountInfoPanel, rerenderInfo, showBuilding, showFeature, showRows } from './info';
import { describePick } from './scenario-layers';
import { mountLegend, renderLegend } from './legend';
import { addPickHandler, afterNextRender, clickPick, createMap, gpuDone, pickAt, renderNow, softwareRenderer } from './map';
import { startSensors, sensorPick } from './sensors';
import { mountScenarioEditor } from './scenario';
import { mountDashboard, closeDashboard, isDashboardOpen } from './dashboard';
import { mountDatasetsPanel, reloadDatasetsPanel } from './datasets-panel';
import { closeDrawer, isDrawerOpen } from './drawer';
import { loadDatasets, onDatasetsLoaded } from './governance';
import { isLoginOpen, mountLogin } from './login';
import { mountRegistersPanel, reloadRegistersPanel } from './registers-panel';
import type { Buildings } from './data/types';

const statusLine = document.getElementById('status') as HTMLElement;
let statusText: () => string = () => '';

/** The status line; a function so that it can be re-rendered in the other language. */
function setStatus(text: () => string, isError = false): void {
  statusText = text;
  statusLine.textContent = text();
  statusLine.classList.toggle('error', isError);
}

/** Select what a pick hit: a building, a buurt or other catalogue feature, a sensor. */
function select(info: PickingInfo): PickSummary | null {
  const layerId = info.layer?.id;
  if (!info.layer || info.index < 0) {
    closeInfo();
    return null;
  }
  if (isBuildingLayer(layerId)) return showBuilding(info.index);
  const sensor = sensorPick(info);
  if (sensor) return sensor;
  const entry = catalogueEntry(layerId);
  if (entry && info.object && (info.object as GeoJSON.Feature).type === 'Feature') {
    return showFeature(entry, info.object as GeoJSON.Feature, info.index);
  }
  if (entry && typeof info.object === 'number') {
    const described = tableRowInfo(layerId as string, info.object);
    if (described) return showRows({ layer: entry.id, kind: 'feature', id: info.object, index: info.index, title: described.title }, described.title, described.rows);
  }
  const difference = layerId ? describePick(layerId, typeof info.object === 'number' ? info.object : info.index) : null;
  if (difference) {
    const rows = difference.rows.map(([label, value]) => ({
      name: label,
      title: label,
      value,
      unit: difference.unit,
      source: t('scenarioSource'),
      method: t('scenarioMethod'),
      estimated: true,
    }));
    return showRows({ layer: layerId as string, kind: 'feature', id: info.index, index: info.index, title: difference.title }, difference.title, rows);
  }
  return null;
}

/** Fold buttons are named after their panel's heading (re-read when the language changes). */
function labelCollapsibles(): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('button.collapse')) {
    button.setAttribute('aria-label', button.closest('.panel')?.querySelector('h2')?.textContent ?? '');
  }
}

function setupCollapsibles(): void {
  labelCollapsibles();
  onLangChange(labelCollapsibles);
  for (const button of document.querySelectorAll<HTMLButtonElement>('button.collapse')) {
    const target = document.getElementById(button.getAttribute('aria-controls') ?? '');
    button.addEventListener('click', () => {
      const expanded = button.getAttribute('aria-expanded') === 'true';
      button.setAttribute('aria-expanded', String(!expanded));
      button.textContent = expanded ? '+' : '−';
      if (target) target.hidden = expanded;
    });
  }
}

function setupLanguage(): void {
  const toggle = byTestId<HTMLButtonElement>('lang-toggle');
  const label = (): void => {
    toggle.textContent = t('langToggle');
    toggle.setAttribute('lang', getLang() === 'nl' ? 'en' : 'nl');
    toggle.setAttribute('aria-label', t('langToggleAria'));
    document.title = t('appTitle');
    hooks.lang = getLang();
  };
  toggle.addEventListener('click', () => setLang(getLang() === 'nl' ? 'en' : 'nl'));
  onLangChange(() => {
    applyI18n(document);
    label();
    rerenderLayerPanel();
    renderColourControls();
    renderLegend();
    rerenderInfo();
    statusLine.textContent = statusText();
  });
  label();
}

function setupKeyboard(): void {
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || event.defaultPrevented || isLoginOpen()) return;
    if (isDrawerOpen()) closeDrawer();
    else if (isDashboardOpen()) closeDashboard();
    else closeInfo();
  });
}

/** The buildings payload depends on the role (personal columns only for cleared roles): which token
 * and clearance the loaded one was fetched with. A clearance of null: not known yet. */
let buildingsFor: { token: string | null; clearance: string | null } = { token: getToken(), clearance: clearanceOf(getSession()) };
let buildingsSerial = 0;
/** Session changes before the first buildings arrive are reconciled once they do. */
let initialBuildingsDone = false;

function clearanceOf(session: Session | null): string | null {
  if (!session) return 'open';
  return session.clearance || null;
}

function useBuildings(buildings: Buildings): void {
  setBuildings(buildings);
  renderColourControls();
  hooks.buildingsLoaded = buildings.ids.length;
  hooks.buildingBytes = buildings.bytes;
  hooks.buildingColumns = buildings.columns.map((column) => column.name);
  hooks.buildingsVersion += 1;
}

/** Fetch the buildings again for the new session when what it may see differs from what was loaded. */
function onSession(session: Session | null): void {
  if (!initialBuildingsDone) return;
  const token = session?.token ?? null;
  const clearance = clearanceOf(session);
  if (token === buildingsFor.token) {
    buildingsFor = { token, clearance: clearance ?? buildingsFor.clearance };
    return;
  }
  if (clearance !== null && clearance === buildingsFor.clearance) {
    buildingsFor = { token, clearance };
    return;
  }
  const serial = (buildingsSerial += 1);
  void loadBuildings()
    .then((buildings) => {
      if (serial !== buildingsSerial) return;
      buildingsFor = { token, clearance };
      useBuildings(buildings);
      rerenderInfo();
      renderNow();
    })
    .catch((error: unknown) => setStatus(() => t('loadFailed', { error: errorText(error) }), true));
}

async function start(): Promise<void> {
  mark('start');
  const buildingsPromise = loadBuildings();
  applyI18n(document);
  setupLanguage();
  setupCollapsibles();
  setupKeyboard();
  setStatus(() => t('loadingCity'));
  mountInfoPanel(byTestId('info-panel'));
  mountLayerPanel(document.getElementById('layer-list') as HTMLElement);
  mountLegend(document.getElementById('legend') as HTMLElement);
  mountColourControls(document.getElementById('colour-controls') as HTMLElement);
  mountDashboard();
  mountLogin(document.getElementById('session') as HTMLElement);
  mountDatasetsPanel();
  mountRegistersPanel();
  onDatasetsLoaded(() => renderColourControls());
  onSessionChange((session) => {
    onSession(session);
    reloadDatasetsPanel();
    reloadRegistersPanel();
    rerenderInfo();
    void loadDatasets().catch(() => undefined);
  });

  const { basemapError } = await createMap(byTestId('map'));
  mark('mapCreated');
  if (basemapError) setStatus(() => t('basemapMissing', { error: basemapError }), true);
  addPickHandler((info) => {
    select(info);
    return true;
  });
  hooks.pickAt = (x: number, y: number): PickSummary | null => {
    const info = pickAt(x, y);
    if (!info?.layer) {
      closeInfo();
      return null;
    }
    clickPick(info);
    if (!hooks.selected) return null;
    const { attributes: _attributes, ...summary } = hooks.selected;
    return summary;
  };
  void loadCatalogue();
  mountScenarioEditor(document.getElementById('scenario-body') as HTMLElement);

  try {
    if (!basemapError) setStatus(() => t('loadingBuildings'));
    const buildings = await buildingsPromise;
    mark('buildingsParsed');
    hooks.timings.workerParseMs = Math.round(buildings.parseMs);
    hooks.timings.softwareRenderer = softwareRenderer ? 1 : 0;
    initialBuildingsDone = true;
    useBuildings(buildings);
    onSession(getSession());
    renderNow();
    afterNextRender((gl) => {
      hooks.firstFullFrameMs = Math.round(performance.now());
      hooks.ready = true;
      mark('firstFullFrame');
      void gpuDone(gl).then(() => mark('firstFullFrameGpuDone'));
      if (!basemapError) {
        setStatus(() => t('buildingsLoaded', { n: formatNumber(buildings.ids.length), mb: formatNumber(buildings.bytes / 1e6, 1) }));
      }
    });
  } catch (error) {
    setStatus(() => t('loadFailed', { error: errorText(error) }), true);
  }
  startSensors(document.getElementById('sensor-body') as HTMLElement);
}

void start();
