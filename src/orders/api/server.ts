import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { context, SpanKind } from '@opentelemetry/api';
import { inSpan } from '../../platform/telemetry/tracing';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import rateLimit from '@fastify/rate-limit';
import { z } from 'zod';
import {
  actionBodySchema,
  describeIssues,
  idSchema,
  inventoryPutSchema,
  orderRequestSchema,
  resolveBodySchema,
  skuSchema,
} from '../../domain/schemas';
import type { Logger } from '../../platform/logger';
import type { ActionResult, OrderService } from '../order-service';
import type { ApiKey, Scope } from '../../platform/security/api-keys';
import { getStock, setStock } from '../../services/inventory/service';
import { getPoints } from '../../services/loyalty/service';
import { authenticate, requireScope } from '../../platform/security/http-auth';
import { httpMetrics } from './http-metrics';

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

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** 202 with the order, 404 for an unknown one, 409 with the reason when the order cannot do it now. */
function answerAction(reply: FastifyReply, r: ActionResult) {
  if (r.kind === 'not_found') {
    return reply.code(404).send({ error: 'not_found', message: 'no such order' });
  }
  if (r.kind === 'conflict') {
    return reply.code(409).send({ error: 'conflict', message: r.reason, status: r.status });
  }
  return reply.code(202).send(r.order);
}

function badRequest(issues: { field: string; message: string }[]) {
  return {
    error: 'invalid_request',
    message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  };
}

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

function routes(app: FastifyInstance, deps: ApiDeps, metrics: ReturnType<typeof httpMetrics>) {
  const need = (scope: Scope) => ({ onRequest: requireScope(deps.auth.keys, scope) });

  const parseId = (value: string, field: string) => {
    const r = idSchema.safeParse(value);
    return r.success ? undefined : badRequest([{ field, message: r.error.issues[0]!.message }]);
  };

  // Prometheus sends the key as a bearer token (`authorization` in its scrape config).
  app.get('/metrics', need('operate'), async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });

  // One span per order placement: the root of the order's trace (API → workflow → services → replies).
  app.post('/orders', need('orders:write'), (req, reply) =>
    inSpan('POST /orders', context.active(), {}, () => placeOrder(req, reply), SpanKind.SERVER),
  );
  const placeOrder = async (req: FastifyRequest, reply: FastifyReply) => {
    const parsed = orderRequestSchema.safeParse(req.body);
    const keyHeader = req.headers['idempotency-key'];
    const issues = parsed.success ? [] : describeIssues(parsed.error);
    let key: string | undefined;
    if (keyHeader !== undefined) {
      const k = idempotencyKeySchema.safeParse(keyHeader);
      if (k.success) key = k.data;
      else issues.push({ field: 'Idempotency-Key', message: k.error.issues[0]!.message });
    }
    if (!parsed.success || issues.length) return reply.code(400).send(badRequest(issues));
    const { order, created } = await deps.orders.place(parsed.data, key);
    if (created) metrics.ordersAccepted.inc();
    req.log.info(
      { orderId: order.orderId, workflowId: order.workflowId, created, apiKeyName: req.apiKeyName },
      created ? 'order accepted; workflow started' : 'order already known; nothing started',
    );
    reply.header('location', order.links.self);
    if (!created) reply.header('idempotent-replayed', 'true');
    return reply.code(202).send(order);
  };

  app.get<{ Params: { orderId: string } }>(
    '/orders/:orderId',
    need('orders:read'),
    async (req, reply) => {
      const bad = parseId(req.params.orderId, 'orderId');
      if (bad) return reply.code(400).send(bad);
      const order = await deps.orders.get(req.params.orderId);
      if (!order) return reply.code(404).send({ error: 'not_found', message: 'no such order' });
      return order;
    },
  );

  const action = (kind: 'cancel' | 'reconcile') =>
    app.post<{ Params: { orderId: string } }>(
      `/orders/:orderId/${kind}`,
      need('operate'),
      async (req, reply) => {
        const bad = parseId(req.params.orderId, 'orderId');
        const body = actionBodySchema.safeParse(req.body === undefined ? {} : req.body);
        const issues = [
          ...(bad?.issues ?? []),
          ...(body.success ? [] : describeIssues(body.error)),
        ];
        if (issues.length || !body.success) return reply.code(400).send(badRequest(issues));
        const reason = body.data.reason;
        const r =
          kind === 'cancel'
            ? await deps.orders.cancel(req.params.orderId, reason)
            : await deps.orders.reconcile(req.params.orderId, reason);
        req.log.info(
          { orderId: req.params.orderId, apiKeyName: req.apiKeyName, result: r.kind },
          kind,
        );
        return answerAction(reply, r);
      },
    );
  action('cancel');
  action('reconcile');

  app.post<{ Params: { orderId: string } }>(
    '/orders/:orderId/resolve',
    need('operate'),
    async (req, reply) => {
      const bad = parseId(req.params.orderId, 'orderId');
      const body = resolveBodySchema.safeParse(req.body === undefined ? {} : req.body);
      const issues = [...(bad?.issues ?? []), ...(body.success ? [] : describeIssues(body.error))];
      if (issues.length || !body.success) return reply.code(400).send(badRequest(issues));
      const r = await deps.orders.resolve(req.params.orderId, body.data.action, body.data.reason);
      req.log.info(
        { orderId: req.params.orderId, apiKeyName: req.apiKeyName, result: r.kind },
        'resolve',
      );
      return answerAction(reply, r);
    },
  );

  app.get<{ Params: { sku: string } }>('/inventory/:sku', need('operate'), async (req, reply) => {
    const sku = skuSchema.safeParse(req.params.sku);
    if (!sku.success)
      return reply
        .code(400)
        .send(badRequest([{ field: 'sku', message: sku.error.issues[0]!.message }]));
    const stock = await getStock(deps.pool, sku.data);
    if (!stock) return reply.code(404).send({ error: 'not_found', message: 'no such SKU' });
    return stock;
  });

  app.put<{ Params: { sku: string } }>('/inventory/:sku', need('operate'), async (req, reply) => {
    const sku = skuSchema.safeParse(req.params.sku);
    const body = inventoryPutSchema.safeParse(req.body);
    const issues = [
      ...(sku.success ? [] : [{ field: 'sku', message: sku.error.issues[0]!.message }]),
      ...(body.success ? [] : describeIssues(body.error)),
    ];
    if (!sku.success || !body.success) return reply.code(400).send(badRequest(issues));
    req.log.info({ sku: sku.data, apiKeyName: req.apiKeyName }, 'stock set');
    return setStock(deps.pool, sku.data, body.data.available);
  });

  app.get<{ Params: { customerId: string } }>(
    '/customers/:customerId/points',
    need('orders:read'),
    async (req, reply) => {
      const bad = parseId(req.params.customerId, 'customerId');
      if (bad) return reply.code(400).send(bad);
      return {
        customerId: req.params.customerId,
        points: await getPoints(deps.pool, req.params.customerId),
      };
    },
  );
}
