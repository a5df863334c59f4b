// The page's side of the Arrow worker: one worker, requests answered by id.

import type { Buildings, Table, WorkerRequest, WorkerResponse } from './types';
import { ApiError, apiUrl, problemOf } from '../api';

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { resolve: (value: Buildings | Table) => void; reject: (error: Error) => void }>();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./arrow-worker.ts', import.meta.url), { type: 'module', name: 'arrow' });
    worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const message = event.data;
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(new ApiError(message.error, message.status));
    };
    worker.onerror = (event) => {
      for (const waiting of pending.values()) waiting.reject(new Error(event.message || 'Arrow worker failed'));
      pending.clear();
    };
  }
  return worker;
}

function request<T extends Buildings | Table>(kind: WorkerRequest['kind'], path: string, body?: ArrayBuffer, bytes?: number): Promise<T> {
  const id = nextId;
  nextId += 1;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (value: Buildings | Table) => void, reject });
    const message: WorkerRequest = { id, kind, url: apiUrl(path), ...(body ? { body, bytes } : {}) };
    getWorker().postMessage(message, body ? [body] : []);
  });
}

/** Buildings from /v1/viewer/buildings.arrow, parsed and triangulated in the worker. The page
 * fetches the bytes itself, so that the <link rel="preload"> in index.html (which starts the
 * download before any script runs) serves them; a worker's fetch could not use that preload. */
export async function loadBuildings(path = '/v1/viewer/buildings.arrow'): Promise<Buildings> {
  const url = apiUrl(path);
  getWorker();
  const response = await fetch(url, { headers: { Accept: 'application/vnd.apache.arrow.stream' } });
  if (!response.ok) throw await problemOf(response);
  const body = await response.arrayBuffer();
  const timing = performance.getEntriesByName(url).at(-1) as PerformanceResourceTiming | undefined;
  const bytes = timing && timing.encodedBodySize > 0 ? timing.encodedBodySize : body.byteLength;
  return request<Buildings>('buildings', path, body, bytes);
}

/** Any Arrow IPC stream as flat columns (scenario layers, indicator tables). */
export function loadTable(path: string): Promise<Table> {
  return request<Table>('table', path);
}
