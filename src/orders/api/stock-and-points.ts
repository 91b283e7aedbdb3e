import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { idSchema, inventoryPutSchema, skuSchema } from '../../domain/schemas';
import type { Scope } from '../../platform/security/api-keys';
import { ServiceUnavailableError } from '../../services/core/queries';
import type { AskService } from '../../services/core/queries';
import { BODY_REFUSALS, pointsSchema, refusals, securedBy, stockSchema } from './answers';
import type { RouteOptions, ZodApi } from './route-types';

/** How long a caller should wait before asking again when a service did not answer. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The service's answer, or a 503 with Retry-After when it does not answer in time: stock and points
 * belong to the inventory and loyalty services, which the API asks (src/services/core/queries.ts).
 */
async function fromService<T>(
  reply: FastifyReply,
  answer: () => Promise<T>,
): Promise<{ value: T } | undefined> {
  try {
    return { value: await answer() };
  } catch (err) {
    if (!(err instanceof ServiceUnavailableError)) throw err;
    void reply
      .code(503)
      .header('retry-after', String(RETRY_AFTER_SECONDS))
      .send({ error: 'service_unavailable', message: err.message });
    return undefined;
  }
}

const skuParams = z.object({ sku: skuSchema });

/** GET and PUT /inventory/:sku, GET /customers/:customerId/points. */
export function stockAndPointsRoutes(
  app: ZodApi,
  ask: AskService,
  need: (scope: Scope) => RouteOptions,
): void {
  app.get(
    '/inventory/:sku',
    {
      ...need('operate'),
      schema: {
        operationId: 'getStock',
        tags: ['operator'],
        summary: "A SKU's stock: available and reserved",
        security: securedBy('operate'),
        params: skuParams,
        response: { 200: stockSchema.describe("The SKU's stock"), ...refusals(400, 404, 503) },
      },
    },
    async (req, reply) => {
      const stock = await fromService(reply, () =>
        ask('inventory', 'stock.get', { sku: req.params.sku }),
      );
      if (!stock) return reply;
      if (!stock.value) return reply.code(404).send({ error: 'not_found', message: 'no such SKU' });
      return reply.code(200).send(stock.value);
    },
  );

  app.put(
    '/inventory/:sku',
    {
      ...need('operate'),
      schema: {
        operationId: 'setStock',
        tags: ['operator'],
        summary: 'Set the available count, creating the SKU if new; what is reserved is left alone',
        security: securedBy('operate'),
        params: skuParams,
        body: inventoryPutSchema,
        response: {
          200: stockSchema.describe('The stock as it now is'),
          ...refusals(...BODY_REFUSALS, 503),
        },
      },
    },
    async (req, reply) => {
      const stock = await fromService(reply, () =>
        ask('inventory', 'stock.set', { sku: req.params.sku, available: req.body.available }),
      );
      if (!stock) return reply;
      req.log.info({ sku: req.params.sku, apiKeyName: req.apiKeyName }, 'stock set');
      return reply.code(200).send(stock.value);
    },
  );

  app.get(
    '/customers/:customerId/points',
    {
      ...need('orders:read'),
      schema: {
        operationId: 'getPoints',
        tags: ['orders'],
        summary: "A customer's loyalty balance: 1 point per 100 cents of each completed order",
        security: securedBy('orders:read'),
        params: z.object({ customerId: idSchema }),
        response: {
          200: pointsSchema.describe('The balance (0 for a customer without points)'),
          ...refusals(400, 503),
        },
      },
    },
    async (req, reply) => {
      const points = await fromService(reply, () =>
        ask('loyalty', 'points', { customerId: req.params.customerId }),
      );
      if (!points) return reply;
      return reply.code(200).send({ customerId: req.params.customerId, points: points.value });
    },
  );
}
