import { context, SpanKind } from '@opentelemetry/api';
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
import {
  BODY_REFUSALS,
  orderDetailsSchema,
  orderSummarySchema,
  refusals,
  securedBy,
} from './answers';
import { takeEmptyBodiesAsEmptyObjects } from './bodies';
import type { httpMetrics } from './http-metrics';
import type { RouteOptions, ZodApi } from './route-types';

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const orderParams = z.object({ orderId: idSchema });
const NO_SUCH_ORDER = { error: 'not_found', message: 'no such order' };

type Orders = Pick<OrderService, 'place' | 'get' | 'cancel' | 'reconcile' | 'resolve'>;

/** POST /orders and GET /orders/:orderId. */
export function orderRoutes(
  app: ZodApi,
  orders: Orders,
  metrics: ReturnType<typeof httpMetrics>,
  need: (scope: Scope) => RouteOptions,
): void {
  app.post(
    '/orders',
    {
      ...need('orders:write'),
      schema: {
        operationId: 'placeOrder',
        tags: ['orders'],
        summary: 'Place an order; answers once it is durably accepted, and starts its workflow',
        description:
          'The same `orderId` or `Idempotency-Key` again answers with the same order (header ' +
          '`idempotent-replayed: true`) and starts nothing. `Location` names the order.',
        security: securedBy('orders:write'),
        body: orderRequestSchema,
        headers: z.object({ 'idempotency-key': idempotencyKeySchema.optional() }),
        response: {
          202: orderSummarySchema.describe('Accepted (or already known): the order and its links'),
          ...refusals(...BODY_REFUSALS),
        },
      },
    },
    // One span per order placement: the root of the order's trace (API → workflow → services → replies).
    (req, reply) =>
      inSpan(
        'POST /orders',
        context.active(),
        {},
        async () => {
          const { order, created } = await orders.place(req.body, req.headers['idempotency-key']);
          if (created) metrics.ordersAccepted.inc();
          req.log.info(
            {
              orderId: order.orderId,
              workflowId: order.workflowId,
              created,
              apiKeyName: req.apiKeyName,
            },
            created ? 'order accepted; workflow started' : 'order already known; nothing started',
          );
          reply.header('location', order.links.self);
          if (!created) reply.header('idempotent-replayed', 'true');
          return reply.code(202).send(order);
        },
        SpanKind.SERVER,
      ),
  );

  app.get(
    '/orders/:orderId',
    {
      ...need('orders:read'),
      schema: {
        operationId: 'getOrder',
        tags: ['orders'],
        summary: "The order's status, each step's state and its run in the Temporal UI",
        security: securedBy('orders:read'),
        params: orderParams,
        response: {
          200: orderDetailsSchema.describe("The order's live state while it runs, else its record"),
          ...refusals(400, 404),
        },
      },
    },
    async (req, reply) => {
      const order = await orders.get(req.params.orderId);
      if (!order) return reply.code(404).send(NO_SUCH_ORDER);
      return reply.code(200).send(order);
    },
  );
}

/**
 * POST /orders/:orderId/cancel, /reconcile and /resolve: the operator's actions on an order. Register in
 * a context of their own: there an empty body, whatever its Content-Type, is `{}`.
 */
export function orderActionRoutes(
  app: ZodApi,
  orders: Orders,
  need: (scope: Scope) => RouteOptions,
): void {
  takeEmptyBodiesAsEmptyObjects(app);
  const action = <B extends z.ZodType, R extends object>(
    kind: string,
    summary: string,
    text: string,
    body: B,
    refused: R,
  ) => ({
    ...need('operate'),
    schema: {
      operationId: `${kind}Order`,
      tags: ['operator'],
      summary,
      description: `${text} An empty body, whatever its Content-Type, is taken as \`{}\`.`,
      security: securedBy('operate'),
      params: orderParams,
      body,
      response: {
        202: orderSummarySchema.describe('Taken: the order and its status when it was taken'),
        ...refused,
      },
    },
  });
  /** 202 with the order, 404 for an unknown one, 409 with the reason when the order cannot do it now. */
  const answer = (r: ActionResult) =>
    r.kind === 'not_found'
      ? ({ status: 404, body: NO_SUCH_ORDER } as const)
      : r.kind === 'conflict'
        ? ({
            status: 409,
            body: { error: 'conflict', message: r.reason, status: r.status },
          } as const)
        : ({ status: 202, body: r.order } as const);

  app.post(
    '/orders/:orderId/cancel',
    action(
      'cancel',
      'Ask the workflow to cancel and compensate what was done',
      '409 once the shipment is with the carrier or the order has ended.',
      actionBodySchema,
      refusals(...BODY_REFUSALS, 404, 409),
    ),
    async (req, reply) => {
      const r = await orders.cancel(req.params.orderId, req.body.reason);
      req.log.info(
        { orderId: req.params.orderId, apiKeyName: req.apiKeyName, result: r.kind },
        'cancel',
      );
      const { status, body } = answer(r);
      return reply.code(status).send(body);
    },
  );
  app.post(
    '/orders/:orderId/reconcile',
    action(
      'reconcile',
      'Signal the workflow to re-send the command it waits on',
      'An order that has ended answers 202 with its final status.',
      actionBodySchema,
      refusals(...BODY_REFUSALS, 404),
    ),
    async (req, reply) => {
      const r = await orders.reconcile(req.params.orderId, req.body.reason);
      req.log.info(
        { orderId: req.params.orderId, apiKeyName: req.apiKeyName, result: r.kind },
        'reconcile',
      );
      if (r.kind === 'not_found') return reply.code(404).send(NO_SUCH_ORDER);
      return reply.code(202).send(r.order);
    },
  );
  app.post(
    '/orders/:orderId/resolve',
    action(
      'resolve',
      "An operator's answer to NEEDS_ATTENTION: retry the failing step, or give it up",
      '409 unless the order is NEEDS_ATTENTION.',
      resolveBodySchema,
      refusals(...BODY_REFUSALS, 404, 409),
    ),
    async (req, reply) => {
      const r = await orders.resolve(req.params.orderId, req.body.action, req.body.reason);
      req.log.info(
        { orderId: req.params.orderId, apiKeyName: req.apiKeyName, result: r.kind },
        'resolve',
      );
      const { status, body } = answer(r);
      return reply.code(status).send(body);
    },
  );
}
