import { context, SpanKind } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  actionBodySchema,
  idSchema,
  orderRequestSchema,
  resolveBodySchema,
} from '../../domain/schemas';
import type { Scope } from '../../platform/security/api-keys';
import { inSpan } from '../../platform/telemetry/tracing';
import type { ActionResult, OrderService } from '../order-service';
import type { httpMetrics } from './http-metrics';
import type { RouteOptions } from './server';
import { checked } from './validation';

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

const orderIdOf = (req: FastifyRequest<{ Params: { orderId: string } }>) => ({
  schema: idSchema,
  value: req.params.orderId,
  field: 'orderId',
});

/** POST /orders, GET /orders/:orderId and the operator's actions on an order. */
export function orderRoutes(
  app: FastifyInstance,
  orders: Pick<OrderService, 'place' | 'get' | 'cancel' | 'reconcile' | 'resolve'>,
  metrics: ReturnType<typeof httpMetrics>,
  need: (scope: Scope) => RouteOptions,
): void {
  // One span per order placement: the root of the order's trace (API → workflow → services → replies).
  app.post('/orders', need('orders:write'), (req, reply) =>
    inSpan('POST /orders', context.active(), {}, () => placeOrder(req, reply), SpanKind.SERVER),
  );
  const placeOrder = async (req: FastifyRequest, reply: FastifyReply) => {
    const keyHeader = req.headers['idempotency-key'];
    const ok = checked(reply, {
      body: { schema: orderRequestSchema, value: req.body },
      key: {
        schema: idempotencyKeySchema.optional(),
        value: keyHeader,
        field: 'Idempotency-Key',
      },
    });
    if (!ok) return reply;
    const { order, created } = await orders.place(ok.body, ok.key);
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
      const ok = checked(reply, { orderId: orderIdOf(req) });
      if (!ok) return reply;
      const order = await orders.get(ok.orderId);
      if (!order) return reply.code(404).send({ error: 'not_found', message: 'no such order' });
      return order;
    },
  );

  for (const kind of ['cancel', 'reconcile'] as const) {
    app.post<{ Params: { orderId: string } }>(
      `/orders/:orderId/${kind}`,
      need('operate'),
      async (req, reply) => {
        const ok = checked(reply, {
          orderId: orderIdOf(req),
          body: { schema: actionBodySchema, value: req.body === undefined ? {} : req.body },
        });
        if (!ok) return reply;
        const r = await (kind === 'cancel' ? orders.cancel : orders.reconcile).call(
          orders,
          ok.orderId,
          ok.body.reason,
        );
        req.log.info({ orderId: ok.orderId, apiKeyName: req.apiKeyName, result: r.kind }, kind);
        return answerAction(reply, r);
      },
    );
  }

  app.post<{ Params: { orderId: string } }>(
    '/orders/:orderId/resolve',
    need('operate'),
    async (req, reply) => {
      const ok = checked(reply, {
        orderId: orderIdOf(req),
        body: { schema: resolveBodySchema, value: req.body === undefined ? {} : req.body },
      });
      if (!ok) return reply;
      const r = await orders.resolve(ok.orderId, ok.body.action, ok.body.reason);
      req.log.info({ orderId: ok.orderId, apiKeyName: req.apiKeyName, result: r.kind }, 'resolve');
      return answerAction(reply, r);
    },
  );
}
