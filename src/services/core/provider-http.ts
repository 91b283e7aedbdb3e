import { TransientError } from './errors';

export interface ProviderResponse {
  status: number;
  body: Record<string, unknown>;
}

/**
 * POSTs JSON with an Idempotency-Key. Network errors, timeouts and 5xx are transient
 * (the same key makes the retry safe); every other status is returned to the caller to interpret.
 */
export async function postWithKey(
  url: string,
  body: unknown,
  idempotencyKey: string,
  timeoutMs: number,
): Promise<ProviderResponse> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new TransientError(`POST ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 500) throw new TransientError(`POST ${url} answered ${res.status}`);
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new TransientError(`POST ${url} answered ${res.status} with a body that is not JSON`);
  }
  return { status: res.status, body: parsed };
}

export class ProviderContractError extends Error {
  override name = 'ProviderContractError';
}

/**
 * The provider refused the request (a 4xx the contract gives no meaning to): it made nothing under the
 * key. Not a 409, which says the key was used before, with another request.
 */
export class ProviderRefusedError extends ProviderContractError {
  override name = 'ProviderRefusedError';
}

export function unexpected(op: string, r: ProviderResponse): never {
  const message = `${op}: unexpected answer ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
  if (r.status >= 400 && r.status < 500 && r.status !== 409)
    throw new ProviderRefusedError(message);
  throw new ProviderContractError(message);
}
