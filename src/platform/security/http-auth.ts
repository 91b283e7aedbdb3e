import type { FastifyReply, FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { findApiKey, hasScope } from './api-keys';
import type { ApiKey, Scope } from './api-keys';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the API key the request was made with (for its log lines), once checked. */
    apiKeyName?: string;
  }
}

/** The key a request presents: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`. */
export function presentedApiKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

const identified = new WeakMap<FastifyRequest, ApiKey | null>();

/** The known key the request presents, if any: looked up once per request (the rate limiter asks too). */
export function callerKey(req: FastifyRequest, keys: ApiKey[]): ApiKey | undefined {
  if (!identified.has(req)) identified.set(req, findApiKey(keys, presentedApiKey(req)) ?? null);
  return identified.get(req) ?? undefined;
}

/**
 * Checks the request's key: 401 when there is none or it is unknown, 403 when it lacks `scope`
 * (none: any known key will do). Returns the key, or undefined once the refusal is sent.
 */
export function authenticate(
  req: FastifyRequest,
  reply: FastifyReply,
  keys: ApiKey[],
  scope?: Scope,
): ApiKey | undefined {
  const key = callerKey(req, keys);
  if (!key) {
    void reply.code(401).header('www-authenticate', 'Bearer').send({
      error: 'unauthorized',
      message: 'an API key is required: send "Authorization: Bearer <key>" or "X-Api-Key: <key>"',
    });
    return undefined;
  }
  req.apiKeyName = key.name;
  if (scope && !hasScope(key, scope)) {
    void reply.code(403).send({
      error: 'forbidden',
      message: `the API key "${key.name}" lacks the scope "${scope}" that this needs`,
    });
    return undefined;
  }
  return key;
}

/**
 * A preParsing hook for a route that needs `scope`: `app.get(url, { preParsing: requireScope(keys,
 * 'orders:read') }, handler)`. Runs after the rate limiter (an onRequest hook) has counted the
 * request, refusals included, and before the body is read, so a refused caller costs no parsing.
 */
export function requireScope(keys: ApiKey[], scope?: Scope): preParsingAsyncHookHandler {
  return async (req, reply) => {
    authenticate(req, reply, keys, scope);
  };
}
