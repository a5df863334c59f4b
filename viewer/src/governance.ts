// What the governance API tells the viewer: the dataset catalogue (/v1/catalogue), the algorithm
// register (/v1/algorithms), the sensor register (/v1/registers/sensors) and who may do what.
// Answers are cached per session (a different role may see different entries) and forgotten when
// the session changes.

import { getJson, getSession, onSessionChange, type Session } from './api';

export type Classification = 'open' | 'internal' | 'confidential' | 'personal';
export const CLASSIFICATIONS: Classification[] = ['open', 'internal', 'confidential', 'personal'];

export interface DatasetField {
  name: string;
  classification: Classification;
  /** Why the field is more sensitive than its dataset. */
  reason: string;
}

export interface Dataset {
  id: string;
  title: string;
  description: string;
  owner: string;
  source: string;
  sourceLink: string;
  licence: string;
  update_frequency: string;
  classification: Classification;
  legal_basis: string | null;
  purpose: string | null;
  retention: string | null;
  /** How statistics of it are protected (small-cell suppression), for personal data. */
  disclosureControl: string | null;
  /** The dataset or one of its fields is personal data. */
  personalData: boolean;
  /** Fields classified above the dataset's own level (e.g. buildings.residents_est: personal). */
  fields: DatasetField[];
}

export interface LineageNode {
  id: string;
  title: string;
  kind: string;
  classification?: Classification;
}

export interface Lineage {
  /** The node of the dataset itself (``dataset:<id>``). */
  root: string;
  nodes: LineageNode[];
  /** ``from`` is upstream of ``to`` (an input of the step that made it, or the step that made it). */
  edges: { from: string; to: string }[];
}

export interface AlgorithmEntry {
  id: string;
  name: string;
  status: string;
  description: string;
  publicationCategory: string;
  /** Whether the entry has every field the standard requires. */
  complete: boolean;
  htmlUrl: string;
}

export interface SensorRegisterEntry {
  thingId: number | null;
  name: string;
  purpose: string;
  owner: string;
  personalData: boolean;
  legalBasis: string;
  retention: string;
  /** Retention in days, when the register states it as a number. */
  retentionDays: number | null;
  personalDataKinds: string[];
}

/** Fields known to be personal data before the catalogue has answered (residents per address come
 * from the BRP in a real deployment). */
const KNOWN_SENSITIVE_FIELDS: Record<string, DatasetField[]> = {
  buildings: [{ name: 'residents_est', classification: 'personal', reason: '' }],
};

/** The personal or confidential fields of a dataset that its payload lacks: withheld from this role. */
export function withheldFields(datasetId: string, present: Iterable<string>): DatasetField[] {
  const have = new Set(present);
  const fields = knownDataset(datasetId)?.fields ?? KNOWN_SENSITIVE_FIELDS[datasetId] ?? [];
  return fields.filter((field) => (field.classification === 'personal' || field.classification === 'confidential') && !have.has(field.name));
}

/** Roles that may run scenarios (RUN_MODEL in the policy table). */
const SCENARIO_ROLES = new Set(['resident', 'analyst', 'data_owner', 'admin']);

export function canRunScenarios(session: Session | null = getSession()): boolean {
  return Boolean(session?.roles.some((role) => SCENARIO_ROLES.has(role)));
}

/** The array under ``key`` of an answer (``{datasets: [...]}``), or the answer itself if it is one. */
function listOf(answer: unknown, key: string): Record<string, unknown>[] {
  if (Array.isArray(answer)) return answer as Record<string, unknown>[];
  const value = answer && typeof answer === 'object' ? (answer as Record<string, unknown>)[key] : null;
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
}

/** A value for display: strings as they are, numbers and booleans written out, null as ''. */
function text(value: unknown): string {
  if (value == null) return '';
  return typeof value === 'string' ? value : String(value);
}

function classificationOf(value: unknown): Classification {
  return (CLASSIFICATIONS as unknown[]).includes(value) ? (value as Classification) : 'open';
}

/** A catalogue entry (GET /v1/catalogue/{id}): ``source`` is ``{title, link}``, ``fields`` maps a
 * field name to ``{classification, reason}``. */
function normaliseDataset(raw: Record<string, unknown>): Dataset {
  const id = text(raw.id);
  const source = (raw.source && typeof raw.source === 'object' ? raw.source : { title: raw.source }) as Record<string, unknown>;
  const fields = Object.entries((raw.fields ?? {}) as Record<string, Record<string, unknown>>).map(([name, spec]) => ({
    name,
    classification: classificationOf(spec.classification),
    reason: text(spec.reason),
  }));
  const classification = classificationOf(raw.classification);
  return {
    id,
    title: text(raw.title) || id,
    description: text(raw.description),
    owner: text(raw.owner),
    source: text(source.title),
    sourceLink: text(source.link),
    licence: text(raw.licence),
    update_frequency: text(raw.update_frequency),
    classification,
    legal_basis: text(raw.legal_basis) || null,
    purpose: text(raw.purpose) || null,
    retention: text(raw.retention) || null,
    disclosureControl: text(raw.disclosure_control) || null,
    personalData: raw.personal_data === true || classification === 'personal' || fields.some((field) => field.classification === 'personal'),
    fields,
  };
}

let datasets: Promise<Dataset[]> | null = null;
let datasetsLoaded: Dataset[] = [];
const lineages = new Map<string, Promise<Lineage>>();
let algorithms: Promise<AlgorithmEntry[]> | null = null;
let sensorRegister: Promise<SensorRegisterEntry[]> | null = null;
const loadedListeners = new Set<() => void>();

onSessionChange(() => {
  datasets = null;
  lineages.clear();
  algorithms = null;
  sensorRegister = null;
});

/** Called when the dataset catalogue arrives (the info panel then links sources to it). */
export function onDatasetsLoaded(listener: () => void): void {
  loadedListeners.add(listener);
}

export function loadDatasets(): Promise<Dataset[]> {
  if (!datasets) {
    const loading = getJson<unknown>('/v1/catalogue').then((answer) => listOf(answer, 'datasets').map(normaliseDataset));
    datasets = loading;
    loading
      .then((found) => {
        if (datasets !== loading) return;
        datasetsLoaded = found;
        for (const listener of loadedListeners) listener();
      })
      .catch(() => {
        if (datasets === loading) datasets = null;
      });
  }
  return datasets;
}

/** A dataset of the catalogue already loaded (null before it arrives or for an unknown id). */
export function knownDataset(id: string | null | undefined): Dataset | null {
  if (!id) return null;
  return datasetsLoaded.find((dataset) => dataset.id === id) ?? null;
}

export async function loadDataset(id: string): Promise<Dataset> {
  return normaliseDataset(await getJson<Record<string, unknown>>(`/v1/catalogue/${encodeURIComponent(id)}`));
}

export function loadLineage(id: string): Promise<Lineage> {
  if (!lineages.has(id)) {
    const loading = getJson<Record<string, unknown>>(`/v1/catalogue/${encodeURIComponent(id)}/lineage`).then((answer) => ({
      root: text(answer.root) || `dataset:${id}`,
      nodes: listOf(answer, 'nodes').map((node) => ({
        id: text(node.id),
        title: text(node.title) || text(node.id),
        kind: text(node.kind),
        classification: node.classification ? classificationOf(node.classification) : undefined,
      })),
      edges: listOf(answer, 'edges').map((edge) => ({ from: text(edge.from), to: text(edge.to) })),
    }));
    loading.catch(() => lineages.delete(id));
    lineages.set(id, loading);
  }
  return lineages.get(id) as Promise<Lineage>;
}

export function loadAlgorithms(): Promise<AlgorithmEntry[]> {
  if (!algorithms) {
    const loading = getJson<unknown>('/v1/algorithms').then((answer) =>
      listOf(answer, 'algorithms').map((raw) => {
        const id = text(raw.id);
        return {
          id,
          name: text(raw.name) || id,
          status: text(raw.status),
          description: text(raw.description_short),
          publicationCategory: text(raw.category),
          complete: raw.complete !== false,
          htmlUrl: text(raw.html) || `/v1/algorithms/${encodeURIComponent(id)}?f=html`,
        };
      }),
    );
    loading.catch(() => {
      if (algorithms === loading) algorithms = null;
    });
    algorithms = loading;
  }
  return algorithms;
}

export function loadSensorRegister(): Promise<SensorRegisterEntry[]> {
  if (!sensorRegister) {
    const loading = getJson<unknown>('/v1/registers/sensors').then((answer) =>
      listOf(answer, 'sensors').map((raw) => {
        return {
          thingId: typeof raw.thing_id === 'number' ? raw.thing_id : null,
          name: text(raw.name) || text(raw.thing_id),
          purpose: text(raw.purpose),
          owner: text(raw.owner),
          personalData: raw.personal_data === true,
          legalBasis: text(raw.legal_basis),
          retention: text(raw.retention),
          retentionDays: typeof raw.retention_days === 'number' ? raw.retention_days : null,
          personalDataKinds: Array.isArray(raw.personal_data_kinds) ? raw.personal_data_kinds.map(text) : [],
        };
      }),
    );
    loading.catch(() => {
      if (sensorRegister === loading) sensorRegister = null;
    });
    sensorRegister = loading;
  }
  return sensorRegister;
}
