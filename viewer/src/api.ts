// HTTP helpers for the Tweeling API. The viewer is served by the API itself (/viewer/), so API paths
// are relative to the page's origin; problem+json answers become ApiError with the server's detail.
//
// This is also the one place that knows the session: the bearer token lives in sessionStorage (gone
// when the tab closes), apiFetch adds it to every request, the Arrow worker gets it in its messages,
// and a 401 answer to a request that carried it ends the session ("session expired").

import { ApiError, problemOf } from './problem';

export { ApiError, problemOf };

/** A logged-in user: the token and who it stands for (from /v1/auth/token and /v1/auth/me). */
export interface Session {
  token: string;
  subject: string;
  roles: string[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The most sensitive classification the roles may read in detail (open … personal); '' until
   * /v1/auth/me has said (a token put into storage from outside). */
  clearance: string;
}

/** Why the session changed: logged in, logged out, refused by the server or past its expiry. */
export type SessionChange = 'login' | 'logout' | 'expired' | 'refreshed';

const STORAGE_KEY = 'tweeling.session';
const sessionListeners = new Set<(session: Session | null, change: SessionChange) => void>();
let session: Session | null = readStoredSession();
let expiryTimer: ReturnType<typeof setTimeout> | null = null;
scheduleExpiry();

function readStoredSession(): Session | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Session> | null;
    if (!stored || typeof stored.token !== 'string' || !stored.token) return null;
    const expiresAt = typeof stored.expiresAt === 'number' ? stored.expiresAt : tokenExpiry(stored.token);
    if (expiresAt !== null && expiresAt <= Date.now()) {
      sessionStorage.removeItem(STORAGE_KEY);
      return null;
    }
    return {
      token: stored.token,
      subject: typeof stored.subject === 'string' ? stored.subject : '',
      roles: Array.isArray(stored.roles) ? stored.roles.map(String) : [],
      expiresAt: expiresAt ?? Date.now() + 3600_000,
      clearance: typeof stored.clearance === 'string' ? stored.clearance : '',
    };
  } catch {
    return null;
  }
}

/** The `exp` claim of a JWT in milliseconds (read, not verified: the server verifies). */
function tokenExpiry(token: string): number | null {
  try {
    const payload = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

function scheduleExpiry(): void {
  if (expiryTimer) clearTimeout(expiryTimer);
  expiryTimer = null;
  if (!session) return;
  // setTimeout holds at most 2^31-1 ms; a longer token is checked again when that fires.
  const wait = Math.min(Math.max(0, session.expiresAt - Date.now()), 2 ** 31 - 1);
  expiryTimer = setTimeout(() => {
    if (session && session.expiresAt <= Date.now()) setSession(null, 'expired');
    else scheduleExpiry();
  }, wait);
}

export function getSession(): Session | null {
  return session;
}

/** The bearer token to send, or null for the public (an expired one is forgotten here). */
export function getToken(): string | null {
  if (session && session.expiresAt <= Date.now()) setSession(null, 'expired');
  return session?.token ?? null;
}

/** Keep (or forget, with null) the session and tell everyone whose view depends on the role. */
export function setSession(next: Session | null, change: SessionChange): void {
  session = next;
  if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(STORAGE_KEY);
  scheduleExpiry();
  for (const listener of sessionListeners) listener(next, change);
}

export function onSessionChange(listener: (session: Session | null, change: SessionChange) => void): void {
  sessionListeners.add(listener);
}

/** A 401 to a request that carried ``token``: the server no longer accepts it (expired, revoked). */
export function noteUnauthorized(status: number, token: string | null): void {
  if (status === 401 && token && session?.token === token) setSession(null, 'expired');
}

/** An absolute URL for an API path or a URL the server gave us. */
export function apiUrl(pathOrUrl: string): string {
  return new URL(pathOrUrl, window.location.origin).toString();
}

/** fetch() for API paths: adds the session's bearer token (unless ``anonymous``). A 401 to the
 * token ends the session ("session expired"); a GET is then asked again as the public, so that the
 * page goes on showing what the public may see. */
export async function apiFetch(path: string, init: RequestInit = {}, anonymous = false): Promise<Response> {
  const token = anonymous ? null : getToken();
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  // With a token, no cookies (the API uses none): a different credentials mode also keeps Chromium
  // from answering the request with a response preloaded without the token (it ignores headers
  // when it matches a preload): the public buildings of index.html's <link rel="preload">.
  const response = await fetch(apiUrl(path), token ? { ...init, headers, credentials: 'omit' } : { ...init, headers });
  if (response.status === 401 && token) {
    noteUnauthorized(response.status, token);
    if ((init.method ?? 'GET').toUpperCase() === 'GET') {
      headers.delete('Authorization');
      return fetch(apiUrl(path), { ...init, headers });
    }
  }
  return response;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  const headers = new Headers(init?.headers);
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  const response = await apiFetch(path, { ...init, headers });
  if (!response.ok) throw await problemOf(response);
  return (await response.json()) as T;
}

export async function postJson<T>(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; location: string | null }> {
  const response = await apiFetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await problemOf(response);
  return { status: response.status, body: (await response.json()) as T, location: response.headers.get('Location') };
}

/** Every feature of an OGC API Features collection URL, following `next` links (GeoJSON). */
export async function getAllFeatures(url: string, maxPages = 20): Promise<GeoJSON.FeatureCollection> {
  const features: GeoJSON.Feature[] = [];
  let next: string | null = withParams(url, { f: 'json' });
  for (let page = 0; next && page < maxPages; page += 1) {
    const collection: GeoJSON.FeatureCollection & { links?: { rel: string; href: string }[] } =
      await getJson(next, { headers: { Accept: 'application/geo+json' } });
    features.push(...collection.features);
    next = collection.links?.find((link) => link.rel === 'next')?.href ?? null;
  }
  return { type: 'FeatureCollection', features };
}

/** The URL with query parameters set (kept when already present). */
export function withParams(url: string, params: Record<string, string>): string {
  const parsed = new URL(url, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (!parsed.searchParams.has(key)) parsed.searchParams.set(key, value);
  }
  return parsed.toString();
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
