import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { ApiKey } from './api-keys';
import { callerKey } from './http-auth';

/**
 * Counts every request of an HTTP server (the API, the codec server) against its caller: a key's
 * requests against the key's allowance, those without a valid key (a wrong one, none) against the
 * address's. A refused key is counted too (the limiter runs before the key check), so an address
 * that keeps trying keys is answered 429 once past its allowance. Register it before the routes, so
 * it sees every one of them. An allowance of 0 counts nothing.
 */
export function registerRateLimit(
  app: FastifyInstance,
  keys: ApiKey[],
  allowances: { ratePerMin: number; anonymousRatePerMin: number },
): Promise<void> {
  if (allowances.ratePerMin === 0 && allowances.anonymousRatePerMin === 0) return Promise.resolve();
  const allowance = (caller: string) =>
    caller.startsWith('key:') ? allowances.ratePerMin : allowances.anonymousRatePerMin;
  return app.register(rateLimit, {
    keyGenerator: (req) => {
      const key = callerKey(req, keys);
      return key ? `key:${key.name}` : `address:${req.ip}`;
    },
    max: (_req, caller) => allowance(caller),
    allowList: (_req, caller) => allowance(caller) === 0,
    timeWindow: 60_000,
    errorResponseBuilder: (req, ctx) => {
      const key = callerKey(req, keys);
      return {
        statusCode: 429,
        message: key
          ? `more than ${ctx.max} requests a minute with the key "${key.name}"; retry after ${ctx.after}`
          : `more than ${ctx.max} requests a minute from this address without a valid API key; retry after ${ctx.after}`,
      };
    },
  }) as unknown as Promise<void>;
}
