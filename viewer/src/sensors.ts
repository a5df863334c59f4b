// Live sensors: Things and their latest values from SensorThings (/v1.1), a 24-hour sparkline from
// the hourly aggregates, alerts, and pushed updates from the SSE stream /v1/sensors/live.

import { ScatterplotLayer, TextLayer } from '@deck.gl/layers';
import type { PickingInfo } from '@deck.gl/core';
import { apiUrl, errorText, getJson } from './api';
import { onSensorDisplay, type SensorDisplay } from './catalogue';
import { CATEGORICAL, type RGB } from './colour';
import { clear, h } from './dom';
import { formatNumber, formatTime, onLangChange, t } from './i18n';
import { hooks, type PickSummary } from './hooks';
import { loadSensorRegister, type SensorRegisterEntry } from './governance';
import { rerenderInfo, showCustom } from './info';
import { sensorFacts } from './registers-panel';
import { addProvider, getMap, requestRender, setTooltip, softwareRenderer } from './map';

export interface Datastream {
  id: number;
  name: string;
  property: string;
  unit: string;
  latest: { value: number; time: string } | null;
  simulated: boolean;
  method: string;
  source: string;
  /** Hourly means of the last 24 hours: [hour start (ms), mean, count]. */
  hourly: [number, number, number][];
  alerting: boolean;
}

export interface Thing {
  id: number;
  name: string;
  kind: string;
  position: [number, number];
  datastreams: Datastream[];
}

export interface SensorAlert {
  id: number;
  datastream_id: number;
  phenomenonTime: string;
  value: number;
  severity: string;
  message: string;
}

interface StaThing {
  '@iot.id': number;
  name: string;
  properties?: Record<string, unknown> | null;
  Locations?: { location?: { type: string; coordinates: number[] } }[];
  Datastreams?: {
    '@iot.id': number;
    name: string;
    unitOfMeasurement?: { symbol?: string; name?: string };
    properties?: Record<string, unknown> | null;
    ObservedProperty?: { name?: string };
    Observations?: { result: unknown; phenomenonTime: string }[];
  }[];
}

const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
const ALERT_COLOUR: [number, number, number, number] = [213, 94, 0, 255];

const things: Thing[] = [];
const streams = new Map<number, { thing: Thing; stream: Datastream }>();
let alerts: SensorAlert[] = [];
let container: HTMLElement | null = null;
let display: SensorDisplay = { visible: true, streams: null, opacity: 1, z: 400 };
let version = 0;
let loadError = '';
let live = false;
const kindColours = new Map<string, RGB>();
const updateListeners = new Set<() => void>();

export function getThings(): Thing[] {
  return things;
}

export function getAlerts(): SensorAlert[] {
  return alerts;
}

/** Called after sensor data change (new values, alerts), e.g. by the dashboard. */
export function onSensorUpdate(listener: () => void): void {
  updateListeners.add(listener);
}

function notify(): void {
  for (const listener of updateListeners) listener();
}

function kindColour(kind: string): RGB {
  if (!kindColours.has(kind)) kindColours.set(kind, CATEGORICAL[kindColours.size % CATEGORICAL.length] as RGB);
  return kindColours.get(kind) as RGB;
}

function unitOf(stream: Datastream): string {
  return stream.unit ? ` ${stream.unit}` : '';
}

async function loadThings(): Promise<void> {
  const expand =
    'Locations($select=location),Datastreams($select=id,name,unitOfMeasurement,properties;' +
    '$expand=ObservedProperty($select=name),Observations($top=1;$orderby=phenomenonTime desc;$select=result,phenomenonTime))';
  const path = `/v1.1/Things?$top=1000&$select=id,name,properties&$expand=${encodeURIComponent(expand)}`;
  const answer = await getJson<{ value: StaThing[] }>(path);
  things.length = 0;
  streams.clear();
  for (const item of answer.value) {
    const coordinates = item.Locations?.find((location) => location.location?.type === 'Point')?.location?.coordinates;
    if (!coordinates || coordinates.length < 2) continue;
    const thing: Thing = {
      id: item['@iot.id'],
      name: item.name,
      kind: String(item.properties?.kind ?? 'sensor'),
      position: [coordinates[0] as number, coordinates[1] as number],
      datastreams: [],
    };
    for (const source of item.Datastreams ?? []) {
      const observation = source.Observations?.[0];
      const properties = source.properties ?? {};
      const stream: Datastream = {
        id: source['@iot.id'],
        name: source.name,
        property: source.ObservedProperty?.name ?? source.name,
        unit: source.unitOfMeasurement?.symbol ?? '',
        latest:
          observation && typeof observation.result === 'number'
            ? { value: observation.result, time: observation.phenomenonTime.split('/').at(-1) ?? observation.phenomenonTime }
            : null,
        simulated: properties.simulated === true,
        method: String(properties.simulation_method ?? ''),
        source: String(properties.source ?? ''),
        hourly: [],
        alerting: false,
      };
      thing.datastreams.push(stream);
      streams.set(stream.id, { thing, stream });
    }
    things.push(thing);
  }
}

async function loadAlerts(): Promise<void> {
  const since = new Date(Date.now() - DAY_MS).toISOString();
  const answer = await getJson<{ alerts: SensorAlert[] }>(`/v1/sensors/alerts?since=${encodeURIComponent(since)}&limit=200`);
  alerts = answer.alerts;
  for (const alert of alerts) {
    const found = streams.get(alert.datastream_id);
    if (found) found.stream.alerting = true;
  }
}

async function loadSparkline(stream: Datastream): Promise<void> {
  const start = new Date(Math.floor((Date.now() - DAY_MS) / HOUR_MS) * HOUR_MS).toISOString();
  const answer = await getJson<{ values: { start: string; mean: number; count: number }[] }>(
    `/v1/sensors/aggregates?datastream=${stream.id}&period=PT1H&start=${encodeURIComponent(start)}`,
  );
  stream.hourly = answer.values.map((value) => [Date.parse(value.start), value.mean, value.count]);
}

async function loadSparklines(): Promise<void> {
  const queue = [...streams.values()].map((entry) => entry.stream);
  const worker = async (): Promise<void> => {
    for (let stream = queue.shift(); stream; stream = queue.shift()) {
      try {
        await loadSparkline(stream);
        updateStreamRow(stream);
      } catch {
        // a missing sparkline is not worth an error message
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  notify();
}

/** An SVG polyline of the hourly means (24 h), with the latest value as a dot. */
export function sparkline(stream: Datastream, width = 96, height = 24): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('aria-hidden', 'true');
  const points = stream.hourly.filter(([time]) => time >= Date.now() - DAY_MS - HOUR_MS);
  if (points.length < 2) return svg;
  const values = points.map(([, mean]) => mean);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const t0 = points[0]?.[0] ?? 0;
  const t1 = points.at(-1)?.[0] ?? 1;
  const x = (time: number): number => 2 + ((time - t0) / (t1 - t0 || 1)) * (width - 4);
  const y = (value: number): number => height - 2 - ((value - min) / span) * (height - 4);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points.map(([time, mean]) => `${x(time).toFixed(1)},${y(mean).toFixed(1)}`).join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', 'currentColor');
  line.setAttribute('stroke-width', '1.5');
  svg.appendChild(line);
  const last = points.at(-1);
  if (last) {
    const dot = document.createElementNS(ns, 'circle');
    dot.setAttribute('cx', x(last[0]).toFixed(1));
    dot.setAttribute('cy', y(last[1]).toFixed(1));
    dot.setAttribute('r', '2');
    dot.setAttribute('fill', 'currentColor');
    svg.appendChild(dot);
  }
  return svg;
}

function sparklineLabel(stream: Datastream): string {
  if (stream.hourly.length === 0) return '';
  const values = stream.hourly.map(([, mean]) => mean);
  return `${t('sensorsLast24h')}: ${formatNumber(Math.min(...values))}–${formatNumber(Math.max(...values))}${unitOf(stream)}`;
}

function valueText(stream: Datastream): string {
  return stream.latest ? `${formatNumber(stream.latest.value)}${unitOf(stream)}` : '–';
}

function streamRow(stream: Datastream): HTMLElement {
  const spark = h('span', { class: 'spark', title: sparklineLabel(stream) }, sparkline(stream));
  return h(
    'li',
    { class: `stream${stream.alerting ? ' alerting' : ''}`, 'data-datastream': stream.id },
    h('span', { class: 'stream-name' }, stream.property),
    h('span', { class: 'stream-value', 'data-testid': `sensor-value-${stream.id}` }, valueText(stream)),
    spark,
    h('span', { class: 'sr-only' }, sparklineLabel(stream)),
    h('span', { class: 'stream-time small muted' }, stream.latest ? formatTime(stream.latest.time) : ''),
  );
}

function updateStreamRow(stream: Datastream, flash = false): void {
  const row = container?.querySelector<HTMLElement>(`li[data-datastream="${stream.id}"]`);
  if (!row) return;
  const fresh = streamRow(stream);
  if (flash) fresh.classList.add('flash');
  row.replaceWith(fresh);
}

function focusThing(thing: Thing): void {
  getMap().flyTo({ center: thing.position, zoom: Math.max(getMap().getZoom(), 15), duration: 700 });
  showThing(thing);
}

function renderPanel(): void {
  if (!container) return;
  clear(container);
  const state = document.getElementById('live-state');
  if (state) {
    state.textContent = live ? t('sensorsLive') : t('sensorsOffline');
    state.classList.toggle('on', live);
  }
  if (loadError) {
    container.appendChild(h('p', { class: 'error' }, t('sensorsUnavailable', { error: loadError })));
    return;
  }
  if (things.length === 0) {
    container.appendChild(h('p', { class: 'muted' }, t('sensorsLoading')));
    return;
  }
  const recent = alerts.slice(0, 5);
  container.appendChild(
    h(
      'div',
      { class: 'alerts', 'aria-live': 'polite' },
      h('h3', {}, t('sensorsAlerts')),
      recent.length === 0
        ? h('p', { class: 'small muted' }, t('sensorsNoAlerts'))
        : h(
            'ul',
            { class: 'alert-list' },
            recent.map((alert) =>
              h(
                'li',
                { class: `alert ${alert.severity}` },
                h('strong', {}, streams.get(alert.datastream_id)?.thing.name ?? `#${alert.datastream_id}`),
                ` ${formatTime(alert.phenomenonTime)}: ${alert.message}`,
              ),
            ),
          ),
    ),
  );
  if (things.some((thing) => thing.datastreams.some((stream) => stream.simulated))) {
    container.appendChild(
      h('p', { class: 'small notice' }, h('span', { class: 'badge simulated' }, t('infoSimulated')), ' ', t('sensorsSimulated', { method: 'docs/sensors-simulation.md' })),
    );
  }
  const list = h('ul', { class: 'thing-list' });
  for (const thing of things) {
    const simulated = thing.datastreams.some((stream) => stream.simulated);
    const method = thing.datastreams.find((stream) => stream.simulated)?.method ?? '';
    list.appendChild(
      h(
        'li',
        { class: `thing${thing.datastreams.some((stream) => stream.alerting) ? ' alerting' : ''}`, 'data-thing': thing.id },
        h(
          'div',
          { class: 'thing-head' },
          h('span', { class: 'swatch', style: `background:rgb(${kindColour(thing.kind).join(',')})`, 'aria-hidden': 'true' }),
          h('button', { type: 'button', class: 'link', onclick: () => focusThing(thing), 'aria-label': t('sensorsFocus', { name: thing.name }) }, thing.name),
          simulated ? h('span', { class: 'badge simulated', title: method }, t('infoSimulated')) : null,
        ),
        h('ul', { class: 'stream-list' }, thing.datastreams.map(streamRow)),
      ),
    );
  }
  container.appendChild(list);
}

let register: SensorRegisterEntry[] | null = null;

/** The sensor register's entry of a Thing (purpose, owner, personal data), once the register is read. */
function registerEntry(thing: Thing): SensorRegisterEntry | null {
  if (!register) {
    void loadSensorRegister()
      .then((entries) => {
        register = entries;
        if (hooks.selected?.kind === 'sensor' && hooks.selected.id === thing.id) rerenderInfo();
      })
      .catch(() => undefined);
    return null;
  }
  return register.find((entry) => entry.thingId === thing.id) ?? register.find((entry) => entry.name === thing.name) ?? null;
}

function showThing(thing: Thing): PickSummary {
  return showCustom({ layer: 'sensors', kind: 'sensor', id: thing.id, index: things.indexOf(thing), title: thing.name }, (body) => {
    const entry = registerEntry(thing);
    body.append(
      h('h3', {}, thing.name),
      h(
        'table',
        { class: 'attributes' },
        h('tbody', {}, thing.datastreams.map((stream) =>
          h(
            'tr',
            { 'data-estimated': String(stream.simulated) },
            h('th', { scope: 'row' }, stream.property),
            h('td', {}, valueText(stream), ' ', stream.simulated ? h('span', { class: 'badge simulated', title: stream.method }, t('infoSimulated')) : null),
            h('td', { class: 'source' }, stream.source || '–', stream.simulated ? h('div', { class: 'method' }, `${t('infoMethod')}: ${stream.method}`) : null),
          ),
        )),
      ),
      entry ? h('div', { class: 'sensor-register-entry', 'data-testid': 'sensor-register-entry' }, h('h4', {}, t('sensorRegisterTitle')), sensorFacts(entry)) : '',
    );
  });
}

/** If a pick hit a sensor marker: select that Thing. */
export function sensorPick(info: PickingInfo): PickSummary | null {
  if (!info.layer?.id.startsWith('sensors')) return null;
  const thing = info.object as Thing | undefined;
  if (!thing) return null;
  container?.querySelector(`li[data-thing="${thing.id}"]`)?.scrollIntoView({ block: 'nearest' });
  return showThing(thing);
}

function onObservation(document_: { 'Datastream@iot.id'?: number; result?: unknown; phenomenonTime?: string }): void {
  const streamId = document_['Datastream@iot.id'];
  const value = document_.result;
  if (typeof streamId !== 'number' || typeof value !== 'number') return;
  const found = streams.get(streamId);
  const time = (document_.phenomenonTime ?? new Date().toISOString()).split('/').at(-1) as string;
  hooks.lastSensorUpdate = { datastream: streamId, value, time };
  if (!found) return;
  const { stream } = found;
  stream.latest = { value, time };
  const hour = Math.floor(Date.parse(time) / HOUR_MS) * HOUR_MS;
  const last = stream.hourly.at(-1);
  if (last && last[0] === hour) {
    last[1] = (last[1] * last[2] + value) / (last[2] + 1);
    last[2] += 1;
  } else if (Number.isFinite(hour)) {
    stream.hourly.push([hour, value, 1]);
    stream.hourly = stream.hourly.filter(([start]) => start >= hour - DAY_MS);
  }
  updateStreamRow(stream, true);
  redrawMarkersSoon();
  notify();
}

let markerRedraw: ReturnType<typeof setTimeout> | null = null;
/** New values redraw the map at most every few seconds (a redraw draws every building again). */
function redrawMarkersSoon(): void {
  if (markerRedraw) return;
  markerRedraw = setTimeout(() => {
    markerRedraw = null;
    version += 1;
    requestRender();
  }, softwareRenderer ? 5000 : 1000);
}

function onAlert(alert: SensorAlert): void {
  alerts = [alert, ...alerts].slice(0, 200);
  const found = streams.get(alert.datastream_id);
  if (found) found.stream.alerting = true;
  version += 1;
  renderPanel();
  requestRender();
  notify();
}

function connectLive(): void {
  const source = new EventSource(apiUrl('/v1/sensors/live'));
  source.onopen = () => {
    live = true;
    const state = document.getElementById('live-state');
    if (state) {
      state.textContent = t('sensorsLive');
      state.classList.add('on');
    }
  };
  source.onerror = () => {
    live = false;
    const state = document.getElementById('live-state');
    if (state) {
      state.textContent = t('sensorsOffline');
      state.classList.remove('on');
    }
  };
  source.addEventListener('observation', (event) => {
    try {
      onObservation(JSON.parse((event as MessageEvent<string>).data));
    } catch {
      // ignore a malformed event
    }
  });
  source.addEventListener('alert', (event) => {
    try {
      onAlert(JSON.parse((event as MessageEvent<string>).data) as SensorAlert);
    } catch {
      // ignore a malformed event
    }
  });
}

/** Value labels only when zoomed in far enough for them not to pile up. */
function labelsVisible(): boolean {
  try {
    return getMap().getZoom() >= 14.5;
  } catch {
    return false;
  }
}

function primary(thing: Thing): Datastream | undefined {
  return thing.datastreams.find((stream) => stream.latest) ?? thing.datastreams[0];
}

addProvider({
  layers() {
    if (things.length === 0) return [];
    const streams = display.streams;
    const shown = streams ? things.filter((thing) => thing.datastreams.some((stream) => streams.has(stream.id))) : things;
    const alerting = shown.filter((thing) => thing.datastreams.some((stream) => stream.alerting));
    return [
      {
        z: display.z,
        layer: new ScatterplotLayer<Thing>({
          id: 'sensors-alerts',
          data: alerting,
          visible: display.visible,
          opacity: display.opacity,
          getPosition: (thing) => thing.position,
          radiusUnits: 'pixels',
          getRadius: 14,
          stroked: true,
          filled: true,
          getFillColor: [213, 94, 0, 60],
          getLineColor: ALERT_COLOUR,
          lineWidthUnits: 'pixels',
          getLineWidth: 3,
          parameters: { depthCompare: 'always', depthWriteEnabled: false },
          updateTriggers: { getPosition: version },
        }),
      },
      {
        z: display.z + 0.1,
        layer: new ScatterplotLayer<Thing>({
          id: 'sensors-markers',
          data: shown,
          visible: display.visible,
          opacity: display.opacity,
          pickable: true,
          getPosition: (thing) => thing.position,
          radiusUnits: 'pixels',
          getRadius: 7,
          stroked: true,
          getFillColor: (thing) => [...kindColour(thing.kind), 255] as [number, number, number, number],
          getLineColor: [255, 255, 255, 255],
          lineWidthUnits: 'pixels',
          getLineWidth: 2,
          parameters: { depthCompare: 'always', depthWriteEnabled: false },
        }),
      },
      {
        z: display.z + 0.2,
        layer: new TextLayer<Thing>({
          id: 'sensors-values',
          data: shown,
          visible: display.visible && labelsVisible(),
          opacity: display.opacity,
          getPosition: (thing) => thing.position,
          getText: (thing) => {
            const stream = primary(thing);
            return stream ? `${formatNumber(stream.latest?.value)}${unitOf(stream)}` : '';
          },
          getSize: 12,
          getPixelOffset: [0, -18],
          getColor: [20, 20, 30, 255],
          background: true,
          getBackgroundColor: [255, 255, 255, 220],
          backgroundPadding: [3, 1],
          fontFamily: 'system-ui, sans-serif',
          characterSet: 'auto',
          parameters: { depthCompare: 'always', depthWriteEnabled: false },
          updateTriggers: { getText: version },
        }),
      },
    ];
  },
});

export function startSensors(element: HTMLElement): void {
  container = element;
  renderPanel();
  getMap().on('zoomend', () => requestRender());
  onSensorDisplay((value) => {
    display = value;
    requestRender();
  });
  onLangChange(() => {
    renderPanel();
    version += 1;
    requestRender();
  });
  setTooltip((info) => {
    if (!info.layer?.id.startsWith('sensors') || !info.object) return null;
    const thing = info.object as Thing;
    return [thing.name, ...thing.datastreams.map((stream) => `${stream.property}: ${valueText(stream)}`)].join('\n');
  });
  void (async () => {
    try {
      await loadThings();
      try {
        await loadAlerts();
      } catch {
        alerts = [];
      }
    } catch (error) {
      loadError = errorText(error);
    }
    renderPanel();
    requestRender();
    notify();
    if (!loadError) {
      connectLive();
      await loadSparklines();
    }
  })();
}
