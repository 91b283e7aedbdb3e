import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { context, SpanKind } from '@opentelemetry/api';
import { inSpan } from '../telemetry/tracing';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import {
  describeIssues,
  idSchema,
  inventoryPutSchema,
  orderRequestSchema,
  skuSchema,
} from '../domain/schemas';
import type { Logger } from '../logger';
import type { ActionResult, OrderService } from '../orders/order-service';
import { getStock, setStock } from '../services/inventory';
import { getPoints } from '../services/loyalty';
import { httpMetrics } from './http-metrics';

export interface ApiDeps {
  orders: OrderService;
  pool: Pool;
  registry: Registry;
  log: Logger;
}

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** 202 with the order, 404 for an unknown one, 409 with the reason when the order cannot do it now. */
function answerAction(reply: FastifyReply, orderId: string, r: ActionResult) {
  if (r.kind === 'not_found') {
    return reply.code(404).send({ error: 'not_found', message: `no order ${orderId}` });
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

/** The order service's HTTP API (MISSION.md). Nothing here waits for a service: POST /orders starts a workflow and answers. */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    // Per-request lines would drown the order logs; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024,
  });
  const metrics = httpMetrics(deps.registry);

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(
    (err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      if (err.statusCode && err.statusCode < 500) {
        // Malformed JSON, wrong content type, body too large: say so without echoing the body.
        return reply
          .code(err.statusCode)
          .send({ error: err.code ?? 'bad_request', message: err.message });
      }
      req.log.error({ err }, 'request failed');
      return reply.code(500).send({
        error: 'internal_error',
        message: 'the request could not be completed; it is safe to retry',
      });
    },
  );

  const parseId = (value: string, field: string) => {
    const r = idSchema.safeParse(value);
    return r.success ? undefined : badRequest([{ field, message: r.error.issues[0]!.message }]);
  };

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });

  // One span per order placement: the root of the order's trace (API → workflow → services → replies).
  app.post('/orders', (req, reply) =>
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
      { orderId: order.orderId, workflowId: order.workflowId, created },
      created ? 'order accepted; workflow started' : 'order already known; nothing started',
    );
    reply.header('location', order.links.self);
    if (!created) reply.header('idempotent-replayed', 'true');
    return reply.code(202).send(order);
  };

  app.get<{ Params: { orderId: string } }>('/orders/:orderId', async (req, reply) => {
    const bad = parseId(req.params.orderId, 'orderId');
    if (bad) return reply.code(400).send(bad);
    const order = await deps.orders.get(req.params.orderId);
    if (!order)
      return reply
        .code(404)
        .send({ error: 'not_found', message: `no order ${req.params.orderId}` });
    return order;
  });

  const action = (kind: 'cancel' | 'reconcile') =>
    app.post<{ Params: { orderId: string }; Body: { reason?: unknown } | undefined }>(
      `/orders/:orderId/${kind}`,
      async (req, reply) => {
        const bad = parseId(req.params.orderId, 'orderId');
        if (bad) return reply.code(400).send(bad);
        const reason =
          typeof req.body?.reason === 'string' ? req.body.reason.slice(0, 200) : undefined;
        const r =
          kind === 'cancel'
            ? await deps.orders.cancel(req.params.orderId, reason)
            : await deps.orders.reconcile(req.params.orderId, reason);
        return answerAction(reply, req.params.orderId, r);
      },
    );
  action('cancel');
  action('reconcile');

  const resolveBody = z.object({
    action: z.enum(['retry', 'give-up']),
    reason: z.string().max(200).optional(),
  });
  app.post<{ Params: { orderId: string } }>('/orders/:orderId/resolve', async (req, reply) => {
    const bad = parseId(req.params.orderId, 'orderId');
    if (bad) return reply.code(400).send(bad);
    const body = resolveBody.safeParse(req.body ?? {});
    if (!body.success) return reply.code(400).send(badRequest(describeIssues(body.error)));
    const r = await deps.orders.resolve(req.params.orderId, body.data.action, body.data.reason);
    return answerAction(reply, req.params.orderId, r);
  });

  app.get<{ Params: { sku: string } }>('/inventory/:sku', async (req, reply) => {
    const sku = skuSchema.safeParse(req.params.sku);
    if (!sku.success)
      return reply
        .code(400)
        .send(badRequest([{ field: 'sku', message: sku.error.issues[0]!.message }]));
    const stock = await getStock(deps.pool, sku.data);
    if (!stock) return reply.code(404).send({ error: 'not_found', message: `no SKU ${sku.data}` });
    return stock;
  });

  app.put<{ Params: { sku: string } }>('/inventory/:sku', async (req, reply) => {
    const sku = skuSchema.safeParse(req.params.sku);
    const body = inventoryPutSchema.safeParse(req.body);
    const issues = [
      ...(sku.success ? [] : [{ field: 'sku', message: sku.error.issues[0]!.message }]),
      ...(body.success ? [] : describeIssues(body.error)),
    ];
    if (!sku.success || !body.success) return reply.code(400).send(badRequest(issues));
    return setStock(deps.pool, sku.data, body.data.available);
  });

  app.get<{ Params: { customerId: string } }>(
    '/customers/:customerId/points',
    async (req, reply) => {
      const bad = parseId(req.params.customerId, 'customerId');
      if (bad) return reply.code(400).send(bad);
      return {
        customerId: req.params.customerId,
        points: await getPoints(deps.pool, req.params.customerId),
      };
    },
  );

  return app;
}
