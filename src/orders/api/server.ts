import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { Logger } from '../../platform/logger';
import type { OrderService } from '../order-service';
import type { ApiKey, Scope } from '../../platform/security/api-keys';
import { authenticate, callerKey, requireScope } from '../../platform/security/http-auth';
import { projectVersion } from '../../platform/paths';
import { BODY_REFUSALS, MAX_BODY_BYTES } from './bodies';
import { z } from 'zod';
import { healthSchema, refusals, securedBy } from './answers';
import { httpMetrics } from './http-metrics';
import { RefusalLog } from '../../platform/security/refusal-log';
import { registerRateLimit } from '../../platform/security/rate-limit';
import { describeRoutes, publishContract } from './openapi';
import { orderActionRoutes, orderRoutes } from './order-routes';
import { stockAndPointsRoutes } from './stock-and-points';
import { badRequest, describeRequestIssues } from './validation';
import type { RouteOptions, ZodApi } from './route-types';
import type { AskService } from '../../services/core/queries';

export interface ApiDeps {
  orders: Pick<OrderService, 'place' | 'placeAndWait' | 'get' | 'cancel' | 'reconcile' | 'resolve'>;
  pool: Pool;
  /** Asks a service about its own tables (stock, points): the API reads none of them. */
  ask: AskService;
  registry: Registry;
  log: Logger;
  /**
   * Who may call, and how often: requests per minute per key, and per address for requests without a
   * valid key (a wrong one or none: refused with 401, and counted); 0 is unlimited.
   */
  auth: { keys: ApiKey[]; ratePerMin: number; anonymousRatePerMin: number };
}

/**
 * The order service's HTTP API (docs/http-api.md; /openapi.json). Nothing here waits for a service:
 * POST /orders records the order and answers, or waits on its workflow when the caller asks it to.
 * Every route but /healthz and the published contract (/openapi.json, /docs)
 * wants an API key with the scope the route names; bodies are JSON, at most MAX_BODY_BYTES, and
 * checked against the route's zod schemas, field by field, before anything is done.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    // Per-request lines would drown the order logs; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
  });
  // Each route's zod schemas check its request and shape its answers.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text body is never a valid request, so say 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');
  const metrics = httpMetrics(deps.registry);
  const refusals = new RefusalLog(deps.log);
  const { keys } = deps.auth;

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    const key = callerKey(req, keys);
    refusals.answered(reply.statusCode, {
      method: req.method,
      route,
      ip: req.ip,
      ...(key ? { key: key.name } : {}),
    });
  });

  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      if (hasZodFastifySchemaValidationErrors(err)) {
        return reply.code(400).send(badRequest(describeRequestIssues(req)));
      }
      const known = err.code ? BODY_REFUSALS[err.code] : undefined;
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

  // The OpenAPI document describes every route registered after this.
  describeRoutes(app, projectVersion);
  void registerRateLimit(app, deps.auth.keys, deps.auth);
  void app.register(async (api) => {
    // An unknown route says 404 only to a caller with a key, like every route that wants one, and
    // is counted by the rate limiter like them.
    api.setNotFoundHandler(
      api.hasDecorator('rateLimit') ? { preHandler: api.rateLimit() } : {},
      (req, reply) => {
        if (!authenticate(req, reply, keys)) return reply;
        return reply.code(404).send({ error: 'not_found', message: 'no such route' });
      },
    );
    publishContract(api);
    routes(api.withTypeProvider<ZodTypeProvider>(), deps, metrics);
  });
  return app;
}

function routes(app: ZodApi, deps: ApiDeps, metrics: ReturnType<typeof httpMetrics>) {
  const need = (scope: Scope): RouteOptions => ({
    preParsing: requireScope(deps.auth.keys, scope),
  });

  app.get(
    '/healthz',
    {
      config: { rateLimit: false },
      schema: {
        operationId: 'health',
        tags: ['service'],
        summary: 'Liveness; no key needed',
        security: [],
        response: { 200: healthSchema.describe('The API is up') },
      },
    },
    async () => ({ ok: true as const }),
  );
  // Prometheus sends the key as a bearer token (`authorization` in its scrape config); a key of the
  // `metrics` scope alone reads this and nothing else.
  app.get(
    '/metrics',
    {
      ...need('metrics'),
      schema: {
        operationId: 'metrics',
        tags: ['service'],
        summary:
          'Prometheus metrics: requests, backlog per consumer and task queue, orders, dead letters',
        security: securedBy('metrics'),
        response: {
          200: {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: z.string() } },
          },
          ...refusals(),
        },
      },
    },
    async (_req, reply) => {
      reply.header('content-type', deps.registry.contentType);
      return deps.registry.metrics();
    },
  );
  orderRoutes(app, deps.orders, metrics, need);
  // Cancel, reconcile and resolve take an empty body as {}: in their own context (bodies.ts).
  void app.register(async (actions) => orderActionRoutes(actions, deps.orders, need));
  stockAndPointsRoutes(app, deps.ask, need);
}
