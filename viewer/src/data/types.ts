// Shapes of the data the Arrow worker hands to the page (typed arrays, transferred, not copied).

/** Field metadata of the Arrow contract: title, unit, estimated ("true"/"false"), method, source. */
export type FieldMeta = Record<string, string>;

export type Column =
  | { name: string; kind: 'number'; values: Float64Array; meta: FieldMeta }
  | { name: string; kind: 'category'; codes: Int32Array; categories: string[]; meta: FieldMeta }
  | { name: string; kind: 'bool'; flags: Int8Array; meta: FieldMeta }
  | { name: string; kind: 'string'; strings: (string | null)[]; meta: FieldMeta };

/** Flat geometry of one list<…fixed_size_list<float32, 2>> column: vertices and per-row starts. */
export interface PathGeometry {
  positions: Float32Array;
  /** Row i has vertices startIndices[i] .. startIndices[i + 1] - 1; length rows + 1. */
  startIndices: Uint32Array;
}

export interface Table {
  length: number;
  schemaMeta: Record<string, string>;
  columns: Column[];
  /** Columns of list<fixed_size_list<float32,2>> (e.g. road paths), by column name. */
  paths: Record<string, PathGeometry>;
  /** Columns of list<list<fixed_size_list<float32,2>>> (rings per row; null where none), by column name. */
  polygons: Record<string, ([number, number][][] | null)[]>;
  /** Compressed bytes on the wire (resource timing), or the decoded size when unknown. */
  bytes: number;
}

/** Buildings as one triangle mesh (roofs and walls), ready for the GPU without instancing. */
export interface Buildings extends Table {
  origin: [number, number];
  ids: string[];
  heights: Float32Array;
  heightEstimated: Int8Array;
  /** Mesh vertices: x, y offsets from origin (degrees) and z (m); per ring vertex one on the roof, one at the base. */
  meshPositions: Float32Array;
  /** Building (row) index of every mesh vertex, as a float (exact below 2^24). */
  meshBuilding: Float32Array;
  /** Triangles: roofs (earcut) and walls (two per footprint edge), grouped by spatial chunk. */
  meshIndices: Uint32Array;
  /** Chunk c holds the triangles meshIndices[chunkStarts[c] .. chunkStarts[c + 1]); length chunks + 1. */
  chunkStarts: Uint32Array;
  /** Per chunk the lon/lat box of its buildings (absolute): west, south, east, north. */
  chunkBounds: Float64Array;
  /** Bounding box in absolute lon/lat: [west, south, east, north]. */
  bbox: [number, number, number, number];
  /** Per building centre (absolute lon/lat, the mean of the outer ring). */
  centres: Float64Array;
  parseMs: number;
}

/** Either a URL for the worker to fetch, or a body the page fetched (and a preload may have started).
 * ``token``: the session's bearer token for the worker's fetch (the worker never reads storage). */
export type WorkerRequest = { id: number; kind: 'buildings' | 'table'; url: string; token?: string; body?: ArrayBuffer; bytes?: number };

export type WorkerResponse =
  | { id: number; ok: true; kind: 'buildings'; result: Buildings }
  | { id: number; ok: true; kind: 'table'; result: Table }
  | { id: number; ok: false; error: string; status: number };

export function columnByName(table: Table, name: string): Column | undefined {
  return table.columns.find((column) => column.name === name);
}

/** A column as numbers (NaN for missing); categories and strings give NaN. */
export function numericValues(column: Column): Float64Array | null {
  if (column.kind === 'number') return column.values;
  if (column.kind === 'bool') return Float64Array.from(column.flags, (flag) => (flag < 0 ? Number.NaN : flag));
  return null;
}

/** One row's value of a column, for display. */
export function cellValue(column: Column, row: number): string | number | boolean | null {
  switch (column.kind) {
    case 'number': {
      const value = column.values[row];
      return value === undefined || Number.isNaN(value) ? null : value;
    }
    case 'category': {
      const code = column.codes[row];
      return code === undefined || code < 0 ? null : column.categories[code] ?? null;
    }
    case 'bool': {
      const flag = column.flags[row];
      return flag === undefined || flag < 0 ? null : flag === 1;
    }
    case 'string':
      return column.strings[row] ?? null;
  }
}
