// "Data & herkomst": the dataset catalogue (/v1/catalogue) as a list with classification, owner,
// licence and update frequency; a dataset's details with its legal basis and purpose (personal data)
// and its lineage as an indented tree (dataset → inputs → raw sources).

import { errorText } from './api';
import { byTestId, clear, h } from './dom';
import { isDrawerOpen, openDrawer, registerDrawer, rerenderDrawer } from './drawer';
import { loadDataset, loadDatasets, loadLineage, type Dataset, type Lineage } from './governance';
import { onLangChange, t, tMaybe, type Key } from './i18n';
import { classificationBadge } from './privacy';

const NAME = 'catalogue';

const state = {
  /** The dataset whose details are shown; null: the list. */
  selected: null as string | null,
  datasets: null as Dataset[] | null,
  error: '',
  detail: null as Dataset | null,
  lineage: null as Lineage | null,
  detailError: '',
  serial: 0,
};

export function mountDatasetsPanel(): void {
  registerDrawer(NAME, byTestId<HTMLButtonElement>('catalogue-toggle'), byTestId('catalogue-panel'), 'catalogueTitle', render);
  onLangChange(() => rerenderDrawer(NAME));
}

/** Open the panel on one dataset's entry (from an info panel's source line). */
export function showDataset(id: string): void {
  state.selected = id;
  openDrawer(NAME);
  byTestId('catalogue-panel').querySelector<HTMLElement>('.dataset-detail h3')?.focus();
}

/** Forget what was loaded (the session changed: another role may see other entries). */
export function reloadDatasetsPanel(): void {
  state.datasets = null;
  state.detail = null;
  state.lineage = null;
  state.error = '';
  state.detailError = '';
  if (isDrawerOpen(NAME)) rerenderDrawer(NAME);
}

function render(body: HTMLElement): void {
  clear(body);
  if (state.selected) renderDetail(body, state.selected);
  else renderList(body);
}

function renderList(body: HTMLElement): void {
  body.append(h('p', { class: 'small muted' }, t('catalogueIntro')));
  if (state.error) {
    body.append(h('p', { class: 'error' }, t('catalogueUnavailable', { error: state.error })));
    return;
  }
  if (!state.datasets) {
    body.append(h('p', { class: 'muted', role: 'status' }, t('catalogueLoading')));
    const serial = (state.serial += 1);
    loadDatasets()
      .then((found) => {
        state.datasets = found;
      })
      .catch((error: unknown) => {
        state.error = errorText(error);
      })
      .finally(() => {
        if (serial === state.serial && isDrawerOpen(NAME) && !state.selected) rerenderDrawer(NAME);
      });
    return;
  }
  body.append(
    h(
      'ul',
      { class: 'dataset-list', 'data-testid': 'dataset-list' },
      state.datasets.map((dataset) =>
        h(
          'li',
          { 'data-dataset': dataset.id, 'data-classification': dataset.classification },
          h(
            'div',
            { class: 'dataset-head' },
            h('button', { type: 'button', class: 'link', 'data-focus-key': `dataset-${dataset.id}`, onclick: () => select(dataset.id) }, dataset.title),
            classificationBadge(dataset.classification),
            dataset.personalData && dataset.classification !== 'personal' ? h('span', { class: 'small muted' }, t('catalogueHasPersonalFields')) : null,
          ),
          h(
            'p',
            { class: 'small muted dataset-meta' },
            [
              dataset.owner ? `${t('catalogueOwner')}: ${dataset.owner}` : '',
              dataset.licence ? `${t('catalogueLicence')}: ${dataset.licence}` : '',
              dataset.update_frequency ? `${t('catalogueFrequency')}: ${dataset.update_frequency}` : '',
            ]
              .filter(Boolean)
              .join(' · '),
          ),
        ),
      ),
    ),
  );
}

function select(id: string | null): void {
  const previous = state.selected;
  state.selected = id;
  rerenderDrawer(NAME);
  const panel = byTestId('catalogue-panel');
  if (id) panel.querySelector<HTMLElement>('.dataset-detail h3')?.focus();
  else if (previous) panel.querySelector<HTMLElement>(`[data-focus-key="dataset-${CSS.escape(previous)}"]`)?.focus();
}

function renderDetail(body: HTMLElement, id: string): void {
  const back = h('button', { type: 'button', class: 'link back', 'data-testid': 'catalogue-back', onclick: () => select(null) }, `← ${t('catalogueBack')}`);
  body.append(back);
  if (state.detail?.id !== id) {
    if (state.detailError) {
      body.append(h('p', { class: 'error' }, t('catalogueUnavailable', { error: state.detailError })));
      state.detailError = '';
      return;
    }
    body.append(h('p', { class: 'muted', role: 'status' }, t('catalogueLoading')));
    const serial = (state.serial += 1);
    Promise.all([loadDataset(id), loadLineage(id).catch(() => null)])
      .then(([dataset, lineage]) => {
        if (serial !== state.serial) return;
        state.detail = dataset;
        state.lineage = lineage;
      })
      .catch((error: unknown) => {
        if (serial === state.serial) state.detailError = errorText(error);
      })
      .finally(() => {
        if (serial === state.serial && isDrawerOpen(NAME) && state.selected === id) {
          rerenderDrawer(NAME);
          byTestId('catalogue-panel').querySelector<HTMLElement>('.dataset-detail h3')?.focus();
        }
      });
    return;
  }
  const dataset = state.detail;
  const row = (key: Key, value: string | null | undefined | Node): HTMLElement[] =>
    value ? [h('dt', {}, t(key)), h('dd', {}, value)] : [];
  body.append(
    h(
      'article',
      { class: 'dataset-detail', 'data-testid': 'dataset-detail', 'data-dataset': dataset.id },
      h('h3', { tabindex: -1 }, dataset.title, ' ', classificationBadge(dataset.classification)),
      dataset.description ? h('p', {}, dataset.description) : null,
      h(
        'dl',
        { class: 'dataset-facts' },
        row('catalogueClassification', h('span', {}, classificationBadge(dataset.classification), ' ', t(`classificationHelp_${dataset.classification}` as Key))),
        row('catalogueOwner', dataset.owner),
        row('catalogueSource', dataset.sourceLink ? h('a', { href: dataset.sourceLink, target: '_blank', rel: 'noopener noreferrer' }, dataset.source || dataset.sourceLink) : dataset.source),
        row('catalogueLicence', dataset.licence),
        row('catalogueFrequency', dataset.update_frequency),
        row('catalogueLegalBasis', dataset.legal_basis),
        row('cataloguePurpose', dataset.purpose),
        row('catalogueRetention', dataset.retention),
        row('catalogueDisclosure', dataset.disclosureControl),
      ),
      dataset.fields.length > 0
        ? h(
            'div',
            {},
            h('h4', {}, t('catalogueFields')),
            h(
              'ul',
              { class: 'field-list' },
              dataset.fields.map((field) => h('li', { 'data-field': field.name }, h('code', {}, field.name), ' ', classificationBadge(field.classification), field.reason ? h('span', { class: 'small muted' }, ` ${field.reason}`) : null)),
            ),
          )
        : null,
      h('h4', {}, t('catalogueLineage')),
      lineageTree(dataset, state.lineage),
    ),
  );
}

/** The lineage as nested lists: each dataset or file with its inputs below it, down to the original
 * files and their sources. The graph's processing steps (dataset ← step ← inputs) are folded away:
 * a node's inputs are the inputs of the step that made it. A node met twice is not expanded again. */
function lineageTree(dataset: Dataset, lineage: Lineage | null): HTMLElement {
  if (!lineage || lineage.edges.length === 0) return h('p', { class: 'small muted' }, t('catalogueLineageNone'));
  const nodes = new Map(lineage.nodes.map((node) => [node.id, node]));
  const upstream = (id: string): string[] => lineage.edges.filter((edge) => edge.to === id).map((edge) => edge.from);
  const inputsOf = (id: string): string[] => upstream(id).flatMap((parent) => (nodes.get(parent)?.kind === 'step' ? upstream(parent) : [parent]));
  const branch = (id: string, seen: Set<string>): HTMLElement => {
    const node = nodes.get(id);
    const inputs = seen.has(id) ? [] : [...new Set(inputsOf(id))];
    const inner = new Set(seen).add(id);
    const kind = node?.kind ?? '';
    return h(
      'li',
      { 'data-node': id, 'data-kind': kind },
      h('span', { class: 'node-title' }, node?.title || id),
      kind ? h('span', { class: 'node-kind small muted' }, ` (${tMaybe(`lineageKind_${kind}`, kind)})`) : null,
      node?.classification ? [' ', classificationBadge(node.classification)] : null,
      inputs.length > 0 ? h('ul', {}, inputs.map((input) => branch(input, inner))) : null,
    );
  };
  return h('div', {}, h('p', { class: 'small muted' }, t('catalogueLineageHelp')), h('ul', { class: 'lineage', 'data-testid': 'lineage-tree', 'aria-label': `${t('catalogueLineage')}: ${dataset.title}` }, branch(lineage.root, new Set())));
}
