// The intervention form, generated from the JSON Schema of the run-scenario process
// (GET /v1/processes/run-scenario): one field per property, geometry fields drawn on the map.

import { closeRing, startDraw, type DrawMode, type DrawResult } from './draw';
import { h, uid } from './dom';
import { enumTitle, fieldTitle, formatNumber, t } from './i18n';

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  items?: JsonSchema;
  $defs?: Record<string, JsonSchema>;
}

export type Geometry =
  | { type: 'Polygon'; coordinates: [number, number][][] }
  | { type: 'Point'; coordinates: [number, number] }
  | { type: 'MultiPoint'; coordinates: [number, number][] };

type FieldKind = 'geometry' | 'object' | 'ids' | 'enum' | 'number' | 'integer' | 'boolean' | 'string';

interface FieldSpec {
  name: string;
  schema: JsonSchema;
  kind: FieldKind;
  required: boolean;
}

/** Values a form starts with where the schema requires a field but gives no default. */
const SUGGESTED: Record<string, unknown> = { dwellings: 500, years: 10, speed_limit_kmh: 30, reduction: 0.3, capacity: 2000 };

export function resolveRef(root: JsonSchema, schema: JsonSchema): JsonSchema {
  if (schema.$ref?.startsWith('#/$defs/')) return root.$defs?.[schema.$ref.slice(8)] ?? schema;
  return schema;
}

/** Intervention types of the scenario schema: type name -> its definition. */
export function interventionTypes(root: JsonSchema): Map<string, JsonSchema> {
  const items = root.properties?.interventions?.items;
  const options = items?.oneOf ?? items?.anyOf ?? [];
  const types = new Map<string, JsonSchema>();
  for (const option of options) {
    const definition = resolveRef(root, option);
    const name = definition.properties?.type?.const;
    if (typeof name === 'string') types.set(name, definition);
  }
  return types;
}

function unwrapNullable(root: JsonSchema, schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  if (schema.anyOf) {
    const options = schema.anyOf.filter((option) => option.type !== 'null');
    if (options.length === 1 && options[0]) {
      return { schema: { ...resolveRef(root, options[0]), default: schema.default, title: schema.title ?? options[0].title, description: schema.description }, nullable: true };
    }
  }
  const resolved = resolveRef(root, schema);
  return { schema: schema.$ref ? { ...resolved, description: schema.description ?? resolved.description } : schema, nullable: false };
}

function kindOf(name: string, schema: JsonSchema, original: JsonSchema): FieldKind {
  const isGeometry = (original.$ref ?? original.anyOf?.find((option) => option.$ref)?.$ref ?? '').endsWith('/Geometry');
  if (isGeometry) return 'geometry';
  if (schema.enum) return 'enum';
  if (schema.type === 'object') return 'object';
  if (schema.type === 'array' && (schema.items?.type === 'integer' || name === 'roads')) return 'ids';
  if (schema.type === 'integer') return 'integer';
  if (schema.type === 'number') return 'number';
  if (schema.type === 'boolean') return 'boolean';
  return 'string';
}

export class InterventionForm {
  readonly type: string;
  private readonly fields: FieldSpec[];
  private readonly values: Record<string, unknown> = {};
  private readonly geometries: Record<string, Geometry> = {};
  private readonly ids: Record<string, number[]> = {};
  private element: HTMLElement | null = null;

  constructor(
    root: JsonSchema,
    definition: JsonSchema,
    private readonly onChange: () => void,
  ) {
    this.type = String(definition.properties?.type?.const ?? '');
    const required = new Set(definition.required ?? []);
    this.fields = Object.entries(definition.properties ?? {})
      .filter(([name]) => name !== 'type')
      .map(([name, original]) => {
        const { schema } = unwrapNullable(root, original);
        return { name, schema, kind: kindOf(name, schema, original), required: required.has(name) };
      });
    for (const field of this.fields) {
      if (field.kind === 'object') {
        const nested: Record<string, unknown> = {};
        for (const [name, schema] of Object.entries(field.schema.properties ?? {})) nested[name] = schema.default;
        this.values[field.name] = nested;
      } else if (field.schema.default !== undefined && field.schema.default !== null) {
        this.values[field.name] = field.schema.default;
      } else if (field.kind === 'enum' && field.required) {
        this.values[field.name] = field.schema.enum?.[0];
      } else if (field.required && SUGGESTED[field.name] !== undefined) {
        this.values[field.name] = SUGGESTED[field.name];
      }
    }
  }

  /** Draw modes this form's geometry fields use, by field name. */
  geometryMode(field: string): DrawMode {
    if (field === 'location') return 'point';
    if (this.type === 'greening' && this.values.action === 'trees') return 'points';
    return 'polygon';
  }

  /** The first polygon field (the one window.tweeling.drawPolygon fills), if any. */
  polygonField(): string | null {
    return this.fields.find((field) => field.kind === 'geometry' && this.geometryMode(field.name) === 'polygon')?.name ?? null;
  }

  setGeometry(field: string, geometry: Geometry): void {
    this.geometries[field] = geometry;
    this.render();
    this.onChange();
  }

  /** Drawn geometries of this form (for showing them on the map). */
  drawn(): Geometry[] {
    return Object.values(this.geometries);
  }

  drawnIds(field: 'roads' | 'replace_buildings'): number[] {
    return this.ids[field] ?? [];
  }

  /** The intervention as the API expects it, or the names of required fields still missing. */
  collect(): { intervention: Record<string, unknown>; missing: string[] } {
    const intervention: Record<string, unknown> = { type: this.type };
    const missing: string[] = [];
    for (const field of this.fields) {
      const value = this.values[field.name];
      if (field.kind === 'geometry') {
        const geometry = this.geometries[field.name];
        if (geometry) intervention[field.name] = geometry;
        else if (field.required) missing.push(field.name);
      } else if (field.kind === 'ids') {
        const ids = this.ids[field.name] ?? [];
        if (ids.length > 0) intervention[field.name] = ids;
        else if (field.required) missing.push(field.name);
      } else if (field.kind === 'object') {
        const nested = Object.fromEntries(Object.entries((value as Record<string, unknown>) ?? {}).filter(([, v]) => v !== undefined && v !== ''));
        if (Object.keys(nested).length > 0) intervention[field.name] = nested;
      } else if (value === undefined || value === '' || (typeof value === 'number' && Number.isNaN(value))) {
        if (field.required) missing.push(field.name);
      } else {
        intervention[field.name] = value;
      }
    }
    if (this.type === 'housing_project' && !intervention.geometry && intervention.replace_buildings) {
      const index = missing.indexOf('geometry');
      if (index >= 0) missing.splice(index, 1);
    }
    return { intervention, missing };
  }

  mount(element: HTMLElement): void {
    this.element = element;
    this.render();
  }

  render(): void {
    const element = this.element;
    if (!element) return;
    const focusKey = (document.activeElement as HTMLElement | null)?.dataset.focusKey;
    element.replaceChildren(...this.fields.map((field) => this.fieldElement(field)));
    if (focusKey) element.querySelector<HTMLElement>(`[data-focus-key="${focusKey}"]`)?.focus();
  }

  private label(field: FieldSpec, id: string): HTMLElement {
    return h(
      'label',
      { for: id },
      fieldTitle(field.name, field.schema.title ?? field.name),
      field.required ? h('span', { class: 'required', title: t('fieldRequired') }, ' *') : null,
    );
  }

  private help(field: FieldSpec, id: string): HTMLElement | null {
    return field.schema.description ? h('p', { class: 'help small', id }, field.schema.description) : null;
  }

  private fieldElement(field: FieldSpec): HTMLElement {
    const id = uid(`field-${field.name}`);
    const helpId = `${id}-help`;
    const describedBy = field.schema.description ? helpId : null;
    switch (field.kind) {
      case 'geometry':
        return this.geometryField(field, id);
      case 'ids':
        return this.idsField(field, id);
      case 'object':
        return this.objectField(field);
      case 'boolean': {
        const input = h('input', {
          type: 'checkbox',
          id,
          'aria-describedby': describedBy,
          'data-focus-key': field.name,
          onchange: (event: Event) => {
            this.values[field.name] = (event.target as HTMLInputElement).checked;
            this.onChange();
          },
        });
        input.checked = Boolean(this.values[field.name]);
        return h('div', { class: 'field checkbox' }, input, this.label(field, id), this.help(field, helpId));
      }
      case 'enum': {
        const select = h(
          'select',
          {
            id,
            'aria-describedby': describedBy,
            'data-focus-key': field.name,
            'data-field': field.name,
            onchange: (event: Event) => {
              this.values[field.name] = (event.target as HTMLSelectElement).value;
              if (field.name === 'action') this.render();
              this.onChange();
            },
          },
          field.required ? null : h('option', { value: '' }, '—'),
          (field.schema.enum ?? []).map((value) => h('option', { value: String(value) }, enumTitle(String(value)))),
        );
        select.value = this.values[field.name] == null ? '' : String(this.values[field.name]);
        return h('div', { class: 'field' }, this.label(field, id), select, this.help(field, helpId));
      }
      case 'number':
      case 'integer':
        return this.numberInput(field.name, field.schema, field.kind === 'integer', id, this.label(field, id), describedBy, this.help(field, helpId), (value) => {
          this.values[field.name] = value;
        });
      default: {
        const input = h('input', {
          type: 'text',
          id,
          maxlength: 200,
          'aria-describedby': describedBy,
          'data-focus-key': field.name,
          'data-field': field.name,
          value: this.values[field.name] == null ? '' : String(this.values[field.name]),
          oninput: (event: Event) => {
            this.values[field.name] = (event.target as HTMLInputElement).value;
            this.onChange();
          },
        });
        return h('div', { class: 'field' }, this.label(field, id), input, this.help(field, helpId));
      }
    }
  }

  private numberInput(
    name: string,
    schema: JsonSchema,
    integer: boolean,
    id: string,
    label: HTMLElement,
    describedBy: string | null,
    help: HTMLElement | null,
    set: (value: number | undefined) => void,
    current: unknown = this.values[name],
  ): HTMLElement {
    const min = schema.minimum ?? schema.exclusiveMinimum;
    const max = schema.maximum ?? schema.exclusiveMaximum;
    const input = h('input', {
      type: 'number',
      id,
      inputmode: integer ? 'numeric' : 'decimal',
      step: integer ? 1 : 'any',
      min: min ?? null,
      max: max ?? null,
      'aria-describedby': describedBy,
      'data-focus-key': name,
      'data-field': name,
      value: current == null ? '' : String(current),
      oninput: (event: Event) => {
        const text = (event.target as HTMLInputElement).value;
        set(text === '' ? undefined : integer ? Math.round(Number(text)) : Number(text));
        this.onChange();
      },
    });
    const range = min !== undefined || max !== undefined ? h('span', { class: 'small muted' }, ` ${formatNumber(min ?? null)} – ${formatNumber(max ?? null)}`) : null;
    return h('div', { class: 'field' }, label, h('div', { class: 'inline' }, input, range), help);
  }

  private objectField(field: FieldSpec): HTMLElement {
    const nested = (this.values[field.name] ?? {}) as Record<string, unknown>;
    this.values[field.name] = nested;
    const inputs = Object.entries(field.schema.properties ?? {}).map(([name, schema]) => {
      const id = uid(`field-${field.name}-${name}`);
      return this.numberInput(`${field.name}.${name}`, schema, schema.type === 'integer', id, h('label', { for: id }, fieldTitle(name, schema.title ?? name)), null, null, (value) => {
        nested[name] = value;
      }, nested[name]);
    });
    return h(
      'fieldset',
      { class: 'field nested' },
      h('legend', {}, this.type === 'housing_project' && field.name === 'household_mix' ? t('householdMix') : fieldTitle(field.name, field.schema.title ?? field.name)),
      inputs,
    );
  }

  private geometryField(field: FieldSpec, id: string): HTMLElement {
    const mode = this.geometryMode(field.name);
    const geometry = this.geometries[field.name];
    const status = !geometry
      ? t('geometryNone')
      : geometry.type === 'Polygon'
        ? t('geometryPolygon', { n: Math.max(0, (geometry.coordinates[0]?.length ?? 1) - 1) })
        : geometry.type === 'Point'
          ? t('geometryPoint')
          : t('geometryPoints', { n: geometry.coordinates.length });
    const buttonLabel = mode === 'polygon' ? t('drawPolygon') : mode === 'point' ? t('drawPoint') : t('drawPoints');
    const button = h(
      'button',
      {
        type: 'button',
        id,
        class: 'draw',
        'data-focus-key': `${field.name}-draw`,
        'data-testid': mode === 'polygon' ? 'draw-polygon' : mode === 'point' ? 'draw-point' : 'draw-points',
        'aria-describedby': `${id}-status`,
        onclick: () =>
          startDraw(mode, (result: DrawResult) => {
            if (result.type !== 'ids') this.setGeometry(field.name, result);
            (this.element?.querySelector(`[data-focus-key="${field.name}-draw"]`) as HTMLElement | null)?.focus();
          }),
      },
      buttonLabel,
    );
    return h(
      'div',
      { class: 'field geometry' },
      h('span', { class: 'label' }, fieldTitle(field.name, field.schema.title ?? field.name), field.required ? h('span', { class: 'required' }, ' *') : null),
      h('div', { class: 'inline' }, button, h('span', { class: 'small muted', id: `${id}-status`, 'data-testid': `geometry-status-${field.name}` }, status)),
    );
  }

  private idsField(field: FieldSpec, id: string): HTMLElement {
    const mode: DrawMode = field.name === 'roads' ? 'roads' : 'buildings';
    const ids = this.ids[field.name] ?? [];
    const input = h('input', {
      type: 'text',
      id,
      inputmode: 'numeric',
      'data-focus-key': field.name,
      'data-field': field.name,
      value: ids.join(', '),
      onchange: (event: Event) => {
        this.ids[field.name] = (event.target as HTMLInputElement).value
          .split(/[\s,;]+/)
          .map(Number)
          .filter((value) => Number.isInteger(value) && value >= 0);
        this.onChange();
      },
    });
    const button = h(
      'button',
      {
        type: 'button',
        class: 'draw',
        'data-testid': mode === 'roads' ? 'select-roads' : 'select-buildings',
        'data-focus-key': `${field.name}-select`,
        onclick: () =>
          startDraw(
            mode,
            (result) => {
              if (result.type === 'ids') {
                this.ids[field.name] = result.ids;
                this.render();
                this.onChange();
              }
            },
            () => {},
            this.ids[field.name] ?? [],
          ),
      },
      mode === 'roads' ? t('selectRoads') : t('selectBuildings'),
    );
    return h(
      'div',
      { class: 'field' },
      this.label(field, id),
      h('div', { class: 'inline' }, button, h('span', { class: 'small muted' }, t('geometryIds', { n: ids.length }))),
      input,
    );
  }
}

/** The polygon a test or a script hands over: closed, as GeoJSON. */
export function polygonFromRing(ring: [number, number][]): Geometry {
  return { type: 'Polygon', coordinates: [closeRing(ring)] };
}
