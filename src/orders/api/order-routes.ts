import type { ServerResponse } from 'node:http';
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
import {
  DEFAULT_WAIT_SECONDS,
  MAX_WAIT_SECONDS,
  preferHeaderSchema,
  waitQuerySchema,
  waitRequest,
} from './wait-request';

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const orderParams = z.object({ orderId: idSchema });
const NO_SUCH_ORDER = { error: 'not_found', message: 'no such order' };

type Orders = Pick<
  OrderService,
  'place' | 'placeAndWait' | 'get' | 'cancel' | 'reconcile' | 'resolve'
>;

/**
 * Ends a caller's wait early: when the caller goes away (the connection closes before the answer is
 * sent), or when the API stops (`stopping`): it keeps no one waiting, each wait answers its 202.
 */
function waitEnds(res: ServerResponse, stopping: AbortSignal): AbortSignal {
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  return AbortSignal.any([gone.signal, stopping]);
}

/** POST /orders and GET /orders/:orderId. */
export function orderRoutes(
  app: ZodApi,
  orders: Orders,
  metrics: ReturnType<typeof httpMetrics>,
  need: (scope: Scope) => RouteOptions,
): void {
  const stopping = new AbortController();
  app.addHook('preClose', async () => stopping.abort());
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
          '`idempotent-replayed: true`) and starts nothing. `Location` names the order.\n\n' +
          'To wait for more than the acceptance, name a point (`?wait=paid`) and/or a time ' +
          `(\`Prefer: wait=N\`, at most ${MAX_WAIT_SECONDS} s; ${DEFAULT_WAIT_SECONDS} s when not given): ` +
          'the order is accepted exactly as without, then the answer is 200 with its state once it ' +
          'reaches the point or ends (a declined card answers its FAILED state), or the 202 when the ' +
          'wait runs out first; the order goes on either way. An order that has ended answers its ' +
          'final state and is never started again.',
        security: securedBy('orders:write'),
        body: orderRequestSchema,
        querystring: waitQuerySchema,
        headers: z.object({
          'idempotency-key': idempotencyKeySchema.optional(),
          prefer: preferHeaderSchema,
        }),
        response: {
          200: orderDetailsSchema.describe(
            'Waited for (`?wait` or `Prefer: wait`): the order reached the point or ended; its state then, as GET /orders/{orderId} gives it',
          ),
          202: orderSummarySchema.describe(
            'Accepted (or already known): the order and its links; also when a wait ran out first',
          ),
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
          const key = req.headers['idempotency-key'];
          const wait = waitRequest(req.query.wait, req.headers.prefer);
          const { order, created, reached } = wait
            ? await orders.placeAndWait(req.body, key, {
                until: wait.until,
                withinMs: wait.seconds * 1000,
                signal: waitEnds(reply.raw, stopping.signal),
              })
            : { ...(await orders.place(req.body, key)), reached: undefined };
          if (created) metrics.ordersAccepted.inc();
          req.log.info(
            {
              orderId: order.orderId,
              workflowId: order.workflowId,
              created,
              apiKeyName: req.apiKeyName,
              ...(wait ? { wait: wait.until, waitSeconds: wait.seconds, reached: !!reached } : {}),
            },
            created ? 'order accepted; workflow started' : 'order already known; nothing started',
          );
          reply.header('location', order.links.self);
          if (!created) reply.header('idempotent-replayed', 'true');
          if (wait?.preferred) reply.header('preference-applied', `wait=${wait.seconds}`);
          return reached ? reply.code(200).send(reached) : reply.code(202).send(order);
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
