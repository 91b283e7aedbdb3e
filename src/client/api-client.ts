/**
 * A small HTTP client of Shipshape's own API: the CLI, the demo, the chaos campaign and the tests call
 * the API through it.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
  }
}

export class ApiClient {
  /** `apiKey` is sent as a bearer token (the API wants one on every route but /healthz). */
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  /**
   * One request. A body is sent as JSON (a string as it is, for callers that send malformed JSON on
   * purpose); headers that carry a credential of their own replace the client's key.
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<{ status: number; body: T }> {
    const ownCredential = 'authorization' in headers || 'x-api-key' in headers;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.apiKey && !ownCredential ? { authorization: `Bearer ${this.apiKey}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T };
  }

  async ok<T>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const r = await this.request<T>(method, path, body, headers);
    if (r.status >= 400) {
      const msg = (r.body as { message?: string })?.message ?? JSON.stringify(r.body);
      throw new ApiError(r.status, r.body, `${method} ${path} answered ${r.status}: ${msg}`);
    }
    return r.body;
  }
}
