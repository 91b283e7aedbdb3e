import type { OrderRequestBody } from '../domain/schemas';
import type { WaitPoint } from '../domain/wait-points';
import type { OrderDetails, OrderSummary } from '../orders/order-views';

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

  /**
   * `POST /orders`. With `wait`, the API answers once the order reaches that point or ends (200, its
   * details), or with the usual acceptance (202) after `waitSeconds` (the API's default when not
   * given, at most 60). Refusals throw an ApiError.
   */
  async placeOrder(
    body: OrderRequestBody | Record<string, unknown>,
    opts: { idempotencyKey?: string; wait?: WaitPoint; waitSeconds?: number } = {},
  ): Promise<{ reached: true; order: OrderDetails } | { reached: false; order: OrderSummary }> {
    const query = opts.wait ? `?wait=${opts.wait}` : '';
    const headers = {
      ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
      ...(opts.waitSeconds !== undefined ? { prefer: `wait=${opts.waitSeconds}` } : {}),
    };
    // Longer than the longest wait the API takes, so the answer comes from the API, not this timeout.
    const r = await this.request<OrderDetails | OrderSummary>(
      'POST',
      `/orders${query}`,
      body,
      headers,
      90_000,
    );
    if (r.status === 200) return { reached: true, order: r.body as OrderDetails };
    if (r.status === 202) return { reached: false, order: r.body };
    throw refusal('POST', '/orders', r);
  }

  async ok<T>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const r = await this.request<T>(method, path, body, headers);
    if (r.status >= 400) throw refusal(method, path, r);
    return r.body;
  }
}

function refusal(method: string, path: string, r: { status: number; body: unknown }): ApiError {
  const msg = (r.body as { message?: string })?.message ?? JSON.stringify(r.body);
  return new ApiError(r.status, r.body, `${method} ${path} answered ${r.status}: ${msg}`);
}
