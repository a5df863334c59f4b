// Statistics of personal data per area (/v1/statistics/{dataset}?level=buurt|wijk): values for
// cleared roles, suppressed cells for everyone else, marked "— (onderdrukt: minder dan 10)".

import { getJson } from './api';
import { h, uid } from './dom';
import { formatNumber, t } from './i18n';
import { suppressedMarker, type StatisticValue, type Threshold } from './privacy';

export interface StatisticRow extends StatisticValue {
  code: string;
  name: string;
}

export interface Statistics {
  dataset: string;
  level: string;
  rows: StatisticRow[];
  threshold: Threshold;
  /** Whether the caller received the values in detail (no suppression applied). */
  detail: boolean;
  /** How estimated values were made (shown in the "geschat" marker's tooltip). */
  method: string;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** One area's value of ``measure``: the API serves ``values: {measure: number | null}`` with
 * ``suppressed: "primary" | "secondary" | null``. */
function statistic(raw: Record<string, unknown>, measure: string): StatisticValue {
  const values = (raw.values ?? {}) as Record<string, unknown>;
  const suppressed = raw.suppressed;
  return {
    value: numberOrNull(values[measure] ?? raw.value),
    suppressed: typeof suppressed === 'string' && suppressed ? suppressed : suppressed === true ? 'primary' : null,
    estimated: raw.estimated === true,
  };
}

/** The disclosure threshold the answer states (persons or households); 10 persons if it does not. */
function thresholdOf(control: Record<string, unknown>): Threshold {
  const n = numberOrNull(control.threshold) ?? 10;
  return { n, unit: control.unit === 'households' ? 'households' : 'persons' };
}

/** ``dataset`` per area at ``level`` and its first measure (residents: the number of residents). */
export async function loadStatistics(dataset: string, level: 'buurt' | 'wijk'): Promise<Statistics> {
  const answer = await getJson<Record<string, unknown>>(`/v1/statistics/${encodeURIComponent(dataset)}?level=${level}`);
  const measures = (Array.isArray(answer.measures) ? answer.measures : []) as Record<string, unknown>[];
  const measure = String(measures[0]?.id ?? dataset);
  const control = (answer.disclosure_control ?? {}) as Record<string, unknown>;
  const rows = (Array.isArray(answer.rows) ? answer.rows : []) as Record<string, unknown>[];
  return {
    dataset,
    level,
    rows: rows.map((row) => ({ code: String(row.code ?? ''), name: String(row.name ?? row.code ?? ''), ...statistic(row, measure) })),
    threshold: thresholdOf(control),
    detail: control.applied === false,
    method: String(answer.method ?? ''),
  };
}

function valueCell(value: StatisticValue, threshold: Threshold, method: string): HTMLElement {
  const marker = suppressedMarker(value, threshold);
  if (marker) return h('td', { class: 'num suppressed-cell' }, marker);
  return h(
    'td',
    { class: 'num' },
    formatNumber(value.value),
    value.estimated ? [' ', h('span', { class: 'badge estimated', title: t('infoEstimatedTitle', { method: method || '–' }) }, t('infoEstimated'))] : null,
  );
}

/** "Inwoners per buurt": one row per area, suppressed cells marked, the note on where it comes from. */
export function statisticsTable(statistics: Statistics, onSelect: (code: string) => void): HTMLElement {
  const captionId = uid('statistics');
  return h(
    'section',
    { class: 'theme statistics', 'aria-labelledby': captionId, 'data-testid': 'statistics-table', 'data-dataset': statistics.dataset },
    h('h3', { id: captionId }, t('statisticsTitle')),
    h('p', { class: 'small muted' }, statistics.detail ? t('statisticsDetail') : t('statisticsNote')),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'dashboard-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('dashboardArea')), h('th', { scope: 'col' }, t('residents')))),
        h(
          'tbody',
          {},
          statistics.rows.map((row) =>
            h(
              'tr',
              { 'data-area': row.code, 'data-suppressed': row.suppressed ?? '' },
              h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', 'aria-label': t('dashboardHighlight', { area: row.name }), onclick: () => onSelect(row.code) }, row.name)),
              valueCell(row, statistics.threshold, statistics.method),
            ),
          ),
        ),
      ),
    ),
  );
}
