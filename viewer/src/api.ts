// HTTP helpers for the Tweeling API. The viewer is served by the API itself (/viewer/), so API paths
// are relative to the page's origin; problem+json answers become ApiError with the server's detail.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** An absolute URL for an API path or a URL the server gave us. */
export function apiUrl(pathOrUrl: string): string {
  return new URL(pathOrUrl, window.location.origin).toString();
}

/** The ApiError of a failed response: the problem+json detail (or title) when there is one. */
export async function problemOf(response: Response): Promise<ApiError> {
  let problem: Record<string, unknown> | null = null;
  let message = `${response.status} ${response.statusText}`;
  try {
    const text = await response.text();
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
      const detail = problem.detail ?? problem.title;
      if (typeof detail === 'string') message = detail;
    } catch {
      if (text) message = `${message}: ${text.slice(0, 200)}`;
    }
  } catch {
    // keep the status line
  }
  return new ApiError(message, response.status, problem);
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(apiUrl(path), {
    ...init,
    headers: { Accept: 'application/json', ...(init?.headers ?? {}) },
  });
  if (!response.ok) throw await problemOf(response);
  return (await response.json()) as T;
}

export async function postJson<T>(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; location: string | null }> {
  const response = await fetch(apiUrl(path), {
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
