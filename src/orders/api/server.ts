import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from '../../platform/logger';
import type { OrderService } from '../order-service';
import type { ApiKey, Scope } from '../../platform/security/api-keys';
import { authenticate, requireScope } from '../../platform/security/http-auth';
import { httpMetrics } from './http-metrics';
import { orderRoutes } from './order-routes';
import { stockAndPointsRoutes } from './stock-and-points';

export interface ApiDeps {
  orders: Pick<OrderService, 'place' | 'get' | 'cancel' | 'reconcile' | 'resolve'>;
  pool: Pool;
  registry: Registry;
  log: Logger;
  /** Who may call, and how often: requests per minute per key (0 is unlimited). */
  auth: { keys: ApiKey[]; ratePerMin: number };
}

/**
 * The largest body accepted. The largest valid order (100 items with 64-character SKUs, a full
 * address, escaped) is under 32 KiB; anything bigger is not an order.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/** Fastify's own refusals (parsing, size, media type), answered in our words: theirs may quote the body. */
const FRAMEWORK_REFUSALS: Record<string, { status: number; error: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    error: 'payload_too_large',
    message: `the body must be at most ${MAX_BODY_BYTES} bytes`,
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    error: 'bad_request',
    message: 'the Content-Length does not match the body',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'the body must be JSON (Content-Type: application/json)',
  },
  FST_ERR_CTP_INVALID_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'the body must be JSON (Content-Type: application/json)',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    error: 'invalid_json',
    message: 'the body is empty but its Content-Type says JSON',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    error: 'invalid_json',
    message: 'the body is not valid JSON',
  },
};

/**
 * The order service's HTTP API (MISSION.md). Nothing here waits for a service: POST /orders starts a
 * workflow and answers. Every route but /healthz wants an API key with the scope the route names;
 * bodies are JSON, at most MAX_BODY_BYTES, and checked field by field before anything is done.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    // Per-request lines would drown the order logs; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
  });
  // JSON only: a text body is never a valid request, so say 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');
  const metrics = httpMetrics(deps.registry);
  const { keys } = deps.auth;

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      const known = err.code ? FRAMEWORK_REFUSALS[err.code] : undefined;
      if (known) {
        return reply.code(known.status).send({ error: known.error, message: known.message });
      }
      if (err.statusCode === 429) {
        return reply.code(429).send({ error: 'rate_limited', message: err.message });
      }
      if (err.statusCode && err.statusCode < 500) {
        // Anything else the framework refuses (e.g. a body with __proto__): the status, not its words.
        return reply.code(err.statusCode).send({
          error: 'bad_request',
          message: 'the request was refused before it was read',
        });
      }
      req.log.error({ err }, 'request failed');
      return reply.code(500).send({
        error: 'internal_error',
        message: 'the request could not be completed; it is safe to retry',
      });
    },
  );

  // An unknown route says 404 only to a caller with a key: the API's shape is not public either.
  app.setNotFoundHandler((req, reply) => {
    if (!authenticate(req, reply, keys)) return reply;
    return reply.code(404).send({ error: 'not_found', message: 'no such route' });
  });

  app.get('/healthz', { config: { rateLimit: false } }, async () => ({ ok: true }));

  // Routes go in a plugin registered after the rate limiter, so the limiter sees every one of them.
  if (deps.auth.ratePerMin > 0) {
    void app.register(rateLimit, {
      max: deps.auth.ratePerMin,
      timeWindow: 60_000,
      // Runs after the route's key check (route hooks first), so the name is known; a refused
      // caller never gets this far.
      keyGenerator: (req) => `key:${req.apiKeyName ?? `ip:${req.ip}`}`,
      errorResponseBuilder: (req, ctx) => ({
        statusCode: 429,
        message: `more than ${ctx.max} requests a minute with the key "${req.apiKeyName ?? '?'}"; retry after ${ctx.after}`,
      }),
    });
  }
  void app.register(async (api) => routes(api, deps, metrics));
  return app;
}

/** The options of a route that wants a key with `scope`. */
export type RouteOptions = { onRequest: ReturnType<typeof requireScope> };

function routes(app: FastifyInstance, deps: ApiDeps, metrics: ReturnType<typeof httpMetrics>) {
  const need = (scope: Scope): RouteOptions => ({ onRequest: requireScope(deps.auth.keys, scope) });

  // Prometheus sends the key as a bearer token (`authorization` in its scrape config).
  app.get('/metrics', need('operate'), async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  orderRoutes(app, deps.orders, metrics, need);
  stockAndPointsRoutes(app, deps.pool, need);
}
