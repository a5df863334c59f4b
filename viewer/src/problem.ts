// Errors of the Tweeling API: a problem+json answer as an ApiError with the server's detail (shared by
// the page and the Arrow worker, which has no session and no storage).

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: Record<string, unknown> | null = null,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
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
  const retryAfter = Number(response.headers.get('Retry-After'));
  return new ApiError(message, response.status, problem, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
}

