// Web worker: fetches Arrow IPC streams, turns them into flat typed arrays and, for the buildings,
// closes and orients the rings and triangulates the roofs (earcut), so the page only uploads buffers.

import earcut from 'earcut';
import { tableFromIPC, DataType, type Data, type Field, type Vector, type Table as ArrowTable } from 'apache-arrow';
import { problemOf } from '../problem';
import type { Buildings, Column, FieldMeta, PathGeometry, Table, WorkerRequest, WorkerResponse } from './types';

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function fetchArrow(url: string, token?: string, body?: ArrayBuffer, transferred?: number): Promise<{ table: ArrowTable; bytes: number }> {
  if (body) return { table: tableFromIPC(new Uint8Array(body)), bytes: transferred || body.byteLength };
  const headers: Record<string, string> = { Accept: 'application/vnd.apache.arrow.stream' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { headers });
  if (!response.ok) {
    const problem = await problemOf(response);
    throw new HttpError(problem.message, problem.status);
  }
  const buffer = new Uint8Array(await response.arrayBuffer());
  const table = tableFromIPC(buffer);
  let bytes = buffer.byteLength;
  const timing = performance.getEntriesByName(url).at(-1) as PerformanceResourceTiming | undefined;
  if (timing && timing.encodedBodySize > 0) bytes = timing.encodedBodySize;
  return { table, bytes };
}

function fieldMeta(field: Field): FieldMeta {
  const meta: FieldMeta = {};
  for (const [key, value] of field.metadata) meta[key] = value;
  return meta;
}

function schemaMeta(table: ArrowTable): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [key, value] of table.schema.metadata) meta[key] = value;
  return meta;
}

function numberColumn(vector: Vector): Float64Array {
  const out = new Float64Array(vector.length);
  let position = 0;
  for (const data of vector.data as Data[]) {
    const values = data.values as ArrayLike<number | bigint>;
    const checkNulls = data.nullCount > 0;
    for (let i = 0; i < data.length; i += 1) {
      out[position + i] = checkNulls && !data.getValid(i) ? Number.NaN : Number(values[i]);
    }
    position += data.length;
  }
  return out;
}

function categoryColumn(vector: Vector): { codes: Int32Array; categories: string[] } {
  const codes = new Int32Array(vector.length);
  const categories: string[] = [];
  const index = new Map<string, number>();
  const codeOf = (text: string): number => {
    let code = index.get(text);
    if (code === undefined) {
      code = categories.length;
      categories.push(text);
      index.set(text, code);
    }
    return code;
  };
  let position = 0;
  for (const data of vector.data as Data[]) {
    const dictionary = data.dictionary;
    const remap = dictionary ? Array.from({ length: dictionary.length }, (_, i) => {
      const text = dictionary.get(i) as unknown;
      return text == null ? -1 : codeOf(String(text));
    }) : [];
    const values = data.values as ArrayLike<number>;
    for (let i = 0; i < data.length; i += 1) {
      codes[position + i] = data.getValid(i) ? remap[Number(values[i])] ?? -1 : -1;
    }
    position += data.length;
  }
  return { codes, categories };
}

function convertColumn(field: Field, vector: Vector): Column | null {
  const meta = fieldMeta(field);
  const type = field.type;
  if (DataType.isDictionary(type)) return { name: field.name, kind: 'category', ...categoryColumn(vector), meta };
  if (DataType.isFloat(type) || DataType.isInt(type) || DataType.isDecimal(type)) {
    return { name: field.name, kind: 'number', values: numberColumn(vector), meta };
  }
  if (DataType.isBool(type)) {
    const flags = new Int8Array(vector.length);
    for (let i = 0; i < vector.length; i += 1) {
      const value = vector.get(i) as boolean | null;
      flags[i] = value == null ? -1 : value ? 1 : 0;
    }
    return { name: field.name, kind: 'bool', flags, meta };
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
    const strings: (string | null)[] = new Array(vector.length);
    const distinct = new Set<string>();
    for (let i = 0; i < vector.length; i += 1) {
      const value = vector.get(i) as string | null;
      strings[i] = value;
      if (value != null && distinct.size <= 40) distinct.add(value);
    }
    if (distinct.size <= 40 && field.name !== 'id' && field.name !== 'code') {
      const categories = [...distinct];
      const lookup = new Map(categories.map((text, code) => [text, code]));
      const codes = Int32Array.from(strings, (text) => (text == null ? -1 : lookup.get(text) ?? -1));
      return { name: field.name, kind: 'category', codes, categories, meta };
    }
    return { name: field.name, kind: 'string', strings, meta };
  }
  if (DataType.isTimestamp(type) || DataType.isDate(type)) {
    return { name: field.name, kind: 'number', values: numberColumn(vector), meta };
  }
  return null;
}

function isPathType(type: DataType): boolean {
  return DataType.isList(type) && DataType.isFixedSizeList(type.children[0]?.type as DataType);
}

function isPolygonType(type: DataType): boolean {
  const inner = type.children?.[0]?.type as DataType | undefined;
  return DataType.isList(type) && inner !== undefined && isPathType(inner);
}

/** Rings per row as nested arrays (only for the few rows that have one, e.g. added buildings). */
function polygonColumn(vector: Vector): ([number, number][][] | null)[] {
  const out: ([number, number][][] | null)[] = [];
  for (const data of vector.data as Data[]) {
    const polyOffsets = data.valueOffsets as Int32Array;
    const ringData = data.children[0] as Data;
    const ringOffsets = ringData.valueOffsets as Int32Array;
    const coords = (ringData.children[0] as Data).children[0]?.values as Float32Array;
    for (let i = 0; i < data.length; i += 1) {
      if (!data.getValid(i) || polyOffsets[i] === polyOffsets[i + 1]) {
        out.push(null);
        continue;
      }
      const rings: [number, number][][] = [];
      for (let r = polyOffsets[i] as number; r < (polyOffsets[i + 1] as number); r += 1) {
        const ring: [number, number][] = [];
        for (let v = ringOffsets[r] as number; v < (ringOffsets[r + 1] as number); v += 1) ring.push([coords[v * 2] as number, coords[v * 2 + 1] as number]);
        rings.push(ring);
      }
      out.push(rings);
    }
  }
  return out;
}

function pathColumn(vector: Vector): PathGeometry {
  let total = 0;
  for (const data of vector.data as Data[]) {
    const offsets = data.valueOffsets as Int32Array;
    total += (offsets[data.length] as number) - (offsets[0] as number);
  }
  const positions = new Float32Array(total * 2);
  const startIndices = new Uint32Array(vector.length + 1);
  let vertex = 0;
  let row = 0;
  for (const data of vector.data as Data[]) {
    const offsets = data.valueOffsets as Int32Array;
    const coords = (data.children[0] as Data).children[0]?.values as Float32Array;
    for (let i = 0; i < data.length; i += 1) {
      startIndices[row] = vertex;
      if (data.getValid(i)) {
        for (let v = offsets[i] as number; v < (offsets[i + 1] as number); v += 1) {
          positions[vertex * 2] = coords[v * 2] as number;
          positions[vertex * 2 + 1] = coords[v * 2 + 1] as number;
          vertex += 1;
        }
      }
      row += 1;
    }
  }
  startIndices[row] = vertex;
  return { positions: positions.subarray(0, vertex * 2), startIndices };
}

function convertTable(table: ArrowTable, bytes: number, skip: Set<string>): Table {
  const columns: Column[] = [];
  const paths: Record<string, PathGeometry> = {};
  const polygons: Record<string, ([number, number][][] | null)[]> = {};
  for (const field of table.schema.fields) {
    if (skip.has(field.name)) continue;
    const vector = table.getChild(field.name);
    if (!vector) continue;
    if (isPathType(field.type)) {
      paths[field.name] = pathColumn(vector);
      continue;
    }
    if (isPolygonType(field.type)) {
      polygons[field.name] = polygonColumn(vector);
      continue;
    }
    const column = convertColumn(field, vector);
    if (column) columns.push(column);
  }
  return { length: table.numRows, schemaMeta: schemaMeta(table), columns, paths, polygons, bytes };
}

/** Twice the signed area of ring [start, end) (vertices, xy); positive = clockwise (y up), as deck.gl. */
function signedArea(positions: Float32Array, start: number, end: number): number {
  let area = 0;
  for (let i = start, j = end - 1; i < end; j = i, i += 1) {
    area += ((positions[i * 2] as number) - (positions[j * 2] as number)) *
      ((positions[i * 2 + 1] as number) + (positions[j * 2 + 1] as number));
  }
  return area;
}

function reverseRing(positions: Float32Array, start: number, end: number): void {
  for (let i = start, j = end - 1; i < j; i += 1, j -= 1) {
    const x = positions[i * 2] as number;
    const y = positions[i * 2 + 1] as number;
    positions[i * 2] = positions[j * 2] as number;
    positions[i * 2 + 1] = positions[j * 2 + 1] as number;
    positions[j * 2] = x;
    positions[j * 2 + 1] = y;
  }
}

class GrowingIndices {
  array: Uint32Array;
  length = 0;
  constructor(capacity = 1 << 20) {
    this.array = new Uint32Array(capacity);
  }
  push(values: number[], offset: number): void {
    if (this.length + values.length > this.array.length) this.grow(values.length);
    for (let i = 0; i < values.length; i += 1) this.array[this.length + i] = (values[i] as number) + offset;
    this.length += values.length;
  }
  /** Two triangles of the wall between ring vertices v and v + 1 (roof vertex t, base vertex b). */
  wall(t: number, b: number): void {
    if (this.length + 6 > this.array.length) this.grow(6);
    const a = this.array;
    const n = this.length;
    a[n] = t;
    a[n + 1] = t + 1;
    a[n + 2] = b;
    a[n + 3] = b;
    a[n + 4] = t + 1;
    a[n + 5] = b + 1;
    this.length = n + 6;
  }
  private grow(extra: number): void {
    const bigger = new Uint32Array(Math.max(this.array.length * 2, this.length + extra));
    bigger.set(this.array.subarray(0, this.length));
    this.array = bigger;
  }
}

async function loadBuildings(url: string, token?: string, body?: ArrayBuffer, transferred?: number): Promise<Buildings> {
  const { table, bytes } = await fetchArrow(url, token, body, transferred);
  const started = performance.now();
  const meta = schemaMeta(table);
  const origin = JSON.parse(meta['tweeling:origin'] ?? '[0, 0]') as [number, number];
  const [lon0, lat0] = origin;
  const count = table.numRows;
  const polygon = table.getChild('polygon');
  if (!polygon) throw new Error('buildings.arrow has no polygon column');

  const converted = convertTable(table, bytes, new Set(['polygon', 'id']));
  const heightColumn = converted.columns.find((column) => column.name === 'height_m');
  const baseColumn = converted.columns.find((column) => column.name === 'min_height_m');
  const heights = new Float32Array(count);
  for (let i = 0; i < count; i += 1) {
    const h = heightColumn?.kind === 'number' ? (heightColumn.values[i] as number) : Number.NaN;
    heights[i] = Number.isFinite(h) && h > 0 ? h : 3;
  }

  let sourceVertices = 0;
  let rings = 0;
  for (const data of polygon.data as Data[]) {
    const ringData = data.children[0] as Data;
    const ringOffsets = ringData.valueOffsets as Int32Array;
    const polyOffsets = data.valueOffsets as Int32Array;
    const firstRing = polyOffsets[0] as number;
    const lastRing = polyOffsets[data.length] as number;
    rings += lastRing - firstRing;
    sourceVertices += (ringOffsets[lastRing] as number) - (ringOffsets[firstRing] as number);
  }
  const ringVertices = sourceVertices + rings;
  const meshPositions = new Float32Array(ringVertices * 2 * 3);
  const meshBuilding = new Float32Array(ringVertices * 2);
  const indices = new GrowingIndices(ringVertices * 9);
  const centres = new Float64Array(count * 2);
  let scratch = new Float32Array(4096);
  const ringStarts: number[] = [];
  const holes: number[] = [];
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  let meshVertex = 0;
  let row = 0;
  const indexStart = new Uint32Array(count + 1);
  const boxes = new Float32Array(count * 4).fill(Number.NaN);

  for (const data of polygon.data as Data[]) {
    const polyOffsets = data.valueOffsets as Int32Array;
    const ringData = data.children[0] as Data;
    const ringOffsets = ringData.valueOffsets as Int32Array;
    const coords = (ringData.children[0] as Data).children[0]?.values as Float32Array;
    for (let i = 0; i < data.length; i += 1, row += 1) {
      centres[row * 2] = Number.NaN;
      centres[row * 2 + 1] = Number.NaN;
      indexStart[row] = indices.length;
      indexStart[row + 1] = indices.length;
      if (!data.getValid(i)) continue;
      // 1. the rings of this footprint, closed and oriented (outer clockwise, holes counter-clockwise)
      let local = 0;
      holes.length = 0;
      ringStarts.length = 0;
      const firstRing = polyOffsets[i] as number;
      for (let r = firstRing; r < (polyOffsets[i + 1] as number); r += 1) {
        const v0 = ringOffsets[r] as number;
        let v1 = ringOffsets[r + 1] as number;
        if (v1 - v0 >= 2 && coords[v0 * 2] === coords[(v1 - 1) * 2] && coords[v0 * 2 + 1] === coords[(v1 - 1) * 2 + 1]) {
          v1 -= 1; // the contract says rings come open; tolerate a closed one
        }
        if (v1 - v0 < 3) {
          if (r === firstRing) break; // no usable outer ring: no mesh for this building
          continue;
        }
        if ((local + v1 - v0 + 1) * 2 > scratch.length) {
          const bigger = new Float32Array(Math.max(scratch.length * 2, (local + v1 - v0 + 1) * 2));
          bigger.set(scratch);
          scratch = bigger;
        }
        const ringStart = local;
        if (r !== firstRing) holes.push(ringStart);
        ringStarts.push(ringStart);
        for (let v = v0; v < v1; v += 1, local += 1) {
          scratch[local * 2] = coords[v * 2] as number;
          scratch[local * 2 + 1] = coords[v * 2 + 1] as number;
        }
        const outer = r === firstRing;
        if (signedArea(scratch, ringStart, local) > 0 !== outer) reverseRing(scratch, ringStart, local);
        scratch[local * 2] = scratch[ringStart * 2] as number;
        scratch[local * 2 + 1] = scratch[ringStart * 2 + 1] as number;
        local += 1;
        if (outer) {
          let sx = 0;
          let sy = 0;
          let bw = Infinity;
          let bs = Infinity;
          let be = -Infinity;
          let bn = -Infinity;
          for (let v = ringStart; v < local - 1; v += 1) {
            const x = scratch[v * 2] as number;
            const y = scratch[v * 2 + 1] as number;
            sx += x;
            sy += y;
            if (x < bw) bw = x;
            if (x > be) be = x;
            if (y < bs) bs = y;
            if (y > bn) bn = y;
          }
          boxes.set([bw, bs, be, bn], row * 4);
          if (bw < west) west = bw;
          if (be > east) east = be;
          if (bs < south) south = bs;
          if (bn > north) north = bn;
          const n = local - 1 - ringStart;
          centres[row * 2] = lon0 + sx / n;
          centres[row * 2 + 1] = lat0 + sy / n;
        }
      }
      if (local === 0) continue;
      // 2. vertices: the roof ring [top, top + local), the base ring [base, base + local)
      const top = meshVertex;
      const base = meshVertex + local;
      const roofZ = heights[row] as number;
      const baseValue = baseColumn?.kind === 'number' ? (baseColumn.values[row] as number) : 0;
      const baseZ = Number.isFinite(baseValue) && baseValue > 0 && baseValue < roofZ ? baseValue : 0;
      for (let v = 0; v < local; v += 1) {
        const x = scratch[v * 2] as number;
        const y = scratch[v * 2 + 1] as number;
        const t = (top + v) * 3;
        const b = (base + v) * 3;
        meshPositions[t] = x;
        meshPositions[t + 1] = y;
        meshPositions[t + 2] = roofZ;
        meshPositions[b] = x;
        meshPositions[b + 1] = y;
        meshPositions[b + 2] = baseZ;
        meshBuilding[top + v] = row;
        meshBuilding[base + v] = row;
      }
      meshVertex += local * 2;
      // 3. triangles: the roof (earcut, with holes) and two per wall (each ring edge)
      indices.push(earcut(scratch.subarray(0, local * 2), holes.length ? holes : undefined, 2), top);
      ringStarts.push(local);
      for (let k = 0; k < ringStarts.length - 1; k += 1) {
        for (let v = ringStarts[k] as number; v < (ringStarts[k + 1] as number) - 1; v += 1) {
          indices.wall(top + v, base + v);
        }
      }
      indexStart[row + 1] = indices.length;
    }
  }
  const chunked = chunkTriangles(indices.array, indexStart, boxes, [west, south, east, north]);

  const idVector = table.getChild('id');
  const ids: string[] = new Array(count);
  for (let i = 0; i < count; i += 1) ids[i] = String(idVector?.get(i) ?? i);
  const estimatedColumn = converted.columns.find((column) => column.name === 'height_estimated');
  const heightEstimated = estimatedColumn?.kind === 'bool' ? estimatedColumn.flags : new Int8Array(count).fill(-1);

  return {
    ...converted,
    origin,
    ids,
    heights,
    heightEstimated,
    meshPositions: meshPositions.subarray(0, meshVertex * 3),
    meshBuilding: meshBuilding.subarray(0, meshVertex),
    meshIndices: chunked.indices,
    chunkStarts: chunked.starts,
    chunkBounds: chunked.bounds.map((value, i) => value + (i % 2 === 0 ? lon0 : lat0)),
    bbox: [lon0 + west, lat0 + south, lon0 + east, lat0 + north],
    centres,
    parseMs: performance.now() - started,
  };
}

const CHUNKS_PER_SIDE = 16;

/** The triangles reordered by spatial chunk (a 16 × 16 grid over the city, rows alternating in
 * direction so that neighbouring chunks are neighbours in the buffer), with each chunk's box:
 * the layer then draws only the chunks in view. Boxes are in offsets from the origin. */
function chunkTriangles(
  source: Uint32Array,
  indexStart: Uint32Array,
  boxes: Float32Array,
  [west, south, east, north]: [number, number, number, number],
): { indices: Uint32Array; starts: Uint32Array; bounds: Float64Array } {
  const count = indexStart.length - 1;
  const chunks = CHUNKS_PER_SIDE * CHUNKS_PER_SIDE;
  const chunkOf = new Uint16Array(count);
  const sizes = new Uint32Array(chunks);
  const bounds = new Float64Array(chunks * 4);
  for (let c = 0; c < chunks; c += 1) bounds.set([Infinity, Infinity, -Infinity, -Infinity], c * 4);
  const width = east - west || 1;
  const height = north - south || 1;
  for (let b = 0; b < count; b += 1) {
    const x = ((boxes[b * 4] as number) + (boxes[b * 4 + 2] as number)) / 2;
    const y = ((boxes[b * 4 + 1] as number) + (boxes[b * 4 + 3] as number)) / 2;
    const column = Number.isFinite(x) ? Math.min(CHUNKS_PER_SIDE - 1, Math.floor(((x - west) / width) * CHUNKS_PER_SIDE)) : 0;
    const line = Number.isFinite(y) ? Math.min(CHUNKS_PER_SIDE - 1, Math.floor(((y - south) / height) * CHUNKS_PER_SIDE)) : 0;
    const chunk = line * CHUNKS_PER_SIDE + (line % 2 === 0 ? column : CHUNKS_PER_SIDE - 1 - column);
    chunkOf[b] = chunk;
    sizes[chunk] = (sizes[chunk] as number) + ((indexStart[b + 1] as number) - (indexStart[b] as number));
    if (Number.isFinite(x)) {
      const o = chunk * 4;
      bounds[o] = Math.min(bounds[o] as number, boxes[b * 4] as number);
      bounds[o + 1] = Math.min(bounds[o + 1] as number, boxes[b * 4 + 1] as number);
      bounds[o + 2] = Math.max(bounds[o + 2] as number, boxes[b * 4 + 2] as number);
      bounds[o + 3] = Math.max(bounds[o + 3] as number, boxes[b * 4 + 3] as number);
    }
  }
  const starts = new Uint32Array(chunks + 1);
  for (let c = 0; c < chunks; c += 1) starts[c + 1] = (starts[c] as number) + (sizes[c] as number);
  const cursor = starts.slice(0, chunks);
  const indices = new Uint32Array(starts[chunks] as number);
  for (let b = 0; b < count; b += 1) {
    const from = indexStart[b] as number;
    const to = indexStart[b + 1] as number;
    const chunk = chunkOf[b] as number;
    indices.set(source.subarray(from, to), cursor[chunk] as number);
    cursor[chunk] = (cursor[chunk] as number) + (to - from);
  }
  return { indices, starts, bounds };
}

function transferables(table: Table | Buildings): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const add = (array: ArrayBufferView | undefined): void => {
    if (array && array.buffer instanceof ArrayBuffer) buffers.add(array.buffer);
  };
  for (const column of table.columns) {
    if (column.kind === 'number') add(column.values);
    else if (column.kind === 'category') add(column.codes);
    else if (column.kind === 'bool') add(column.flags);
  }
  for (const path of Object.values(table.paths)) {
    add(path.positions);
    add(path.startIndices);
  }
  if ('meshPositions' in table) {
    for (const array of [table.meshPositions, table.meshBuilding, table.meshIndices, table.chunkStarts, table.chunkBounds, table.heights, table.centres, table.heightEstimated]) add(array);
  }
  return [...buffers];
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { id, kind, url, token, body, bytes } = event.data;
  let response: WorkerResponse;
  try {
    if (kind === 'buildings') {
      response = { id, ok: true, kind, result: await loadBuildings(url, token, body, bytes) };
    } else {
      const { table, bytes } = await fetchArrow(url, token);
      response = { id, ok: true, kind, result: convertTable(table, bytes, new Set()) };
    }
    self.postMessage(response, { transfer: transferables(response.result) });
  } catch (error) {
    response = {
      id,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
      status: error instanceof HttpError ? error.status : 0,
    };
    self.postMessage(response);
  }
};
