// The page's side of the Arrow worker: one worker, requests answered by id. The session's token goes
// with every request (the worker has no storage of its own); a 401 ends the session as elsewhere.

import type { Buildings, Table, WorkerRequest, WorkerResponse } from './types';
import { ApiError, apiFetch, apiUrl, getToken, noteUnauthorized, problemOf } from '../api';

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, { token: string | null; resolve: (value: Buildings | Table) => void; reject: (error: Error) => void }>();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL('./arrow-worker.ts', import.meta.url), { type: 'module', name: 'arrow' });
    worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const message = event.data;
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.ok) waiting.resolve(message.result);
      else {
        noteUnauthorized(message.status, waiting.token);
        waiting.reject(new ApiError(message.error, message.status));
      }
    };
    worker.onerror = (event) => {
      for (const waiting of pending.values()) waiting.reject(new Error(event.message || 'Arrow worker failed'));
      pending.clear();
    };
  }
  return worker;
}

function post<T extends Buildings | Table>(kind: WorkerRequest['kind'], path: string, token: string | null, body?: ArrayBuffer, bytes?: number): Promise<T> {
  const id = nextId;
  nextId += 1;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { token, resolve: resolve as (value: Buildings | Table) => void, reject });
    const message: WorkerRequest = { id, kind, url: apiUrl(path), ...(token ? { token } : {}), ...(body ? { body, bytes } : {}) };
    getWorker().postMessage(message, body ? [body] : []);
  });
}

/** One worker request with the session's token; after a 401 to it (the session has ended) the
 * worker fetches once more as the public, as apiFetch does. */
async function request<T extends Buildings | Table>(kind: WorkerRequest['kind'], path: string, body?: ArrayBuffer, bytes?: number): Promise<T> {
  const token = body ? null : getToken();
  try {
    return await post<T>(kind, path, token, body, bytes);
  } catch (error) {
    if (!(token && error instanceof ApiError && error.status === 401)) throw error;
    return post<T>(kind, path, null);
  }
}

/** Buildings from /v1/viewer/buildings.arrow, parsed and triangulated in the worker. The page
 * fetches the bytes itself, so that the <link rel="preload"> in index.html (which starts the
 * download before any script runs) serves them; a worker's fetch could not use that preload.
 * With a session the request carries its token and omits credentials (apiFetch), so the
 * preloaded public payload is not reused and the columns of the user's role arrive; the preload is
 * then wasted, which only a page opened with a session already running pays for. */
export async function loadBuildings(path = '/v1/viewer/buildings.arrow'): Promise<Buildings> {
  const url = apiUrl(path);
  getWorker();
  const response = await apiFetch(path, { headers: { Accept: 'application/vnd.apache.arrow.stream' } });
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
