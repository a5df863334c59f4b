// How the viewer marks sensitivity: classification badges (text plus an Okabe–Ito colour, never
// colour alone) and statistics that disclosure control suppressed ("— (onderdrukt: minder dan 10)").

import { h } from './dom';
import { t, type Key } from './i18n';
import type { Classification } from './governance';

export function classificationBadge(classification: Classification): HTMLElement {
  return h(
    'span',
    {
      class: `badge classification c-${classification}`,
      title: t(`classificationHelp_${classification}` as Key),
      'data-classification': classification,
    },
    t(`classification_${classification}` as Key),
  );
}

/** A statistic as the API serves it: a value, or null with the reason it was suppressed. */
export interface StatisticValue {
  value: number | null;
  suppressed?: 'primary' | 'secondary' | string | null;
  estimated?: boolean;
}

/** The disclosure threshold a primary suppression refers to (e.g. 10 persons). */
export interface Threshold {
  n: number;
  unit: 'persons' | 'households';
}

/** The text and tooltip of a suppressed cell; null when the value is shown. */
export function suppressedMarker(statistic: StatisticValue, threshold: Threshold): HTMLElement | null {
  if (statistic.value != null && !statistic.suppressed) return null;
  if (!statistic.suppressed) return h('span', { class: 'muted' }, '–');
  const primary = statistic.suppressed !== 'secondary';
  const unit = t(threshold.unit === 'households' ? 'suppressedUnitHouseholds' : 'suppressedUnitPersons');
  const title = primary ? t('suppressedPrimaryTitle', { n: threshold.n, unit }) : t('suppressedSecondaryTitle');
  return h(
    'span',
    { class: 'suppressed', title, 'data-suppressed': primary ? 'primary' : 'secondary', 'data-testid': 'suppressed-marker', tabindex: 0, 'aria-label': `${primary ? t('suppressedPrimary', { n: threshold.n }) : t('suppressedSecondary')}. ${title}` },
    primary ? t('suppressedPrimary', { n: threshold.n }) : t('suppressedSecondary'),
  );
}
