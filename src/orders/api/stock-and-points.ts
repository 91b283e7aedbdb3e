import type { Pool } from 'pg';
import { z } from 'zod';
import { idSchema, inventoryPutSchema, skuSchema } from '../../domain/schemas';
import type { Scope } from '../../platform/security/api-keys';
import { BODY_REFUSALS, pointsSchema, refusals, securedBy, stockSchema } from './answers';
import type { RouteOptions, ZodApi } from './route-types';

export interface Stock {
  sku: string;
  available: number;
  reserved: number;
}

/** What the API reads of the inventory service's tables and the loyalty ledger. */
export async function getStock(pool: Pool, sku: string): Promise<Stock | undefined> {
  const { rows } = await pool.query<Stock>(
    'SELECT sku, available, reserved FROM inventory.stock WHERE sku = $1',
    [sku],
  );
  return rows[0];
}

/** Sets the available count (creating the SKU if new); what is reserved is left alone. */
export async function setStock(pool: Pool, sku: string, available: number): Promise<Stock> {
  const { rows } = await pool.query<Stock>(
    `INSERT INTO inventory.stock (sku, available) VALUES ($1, $2)
     ON CONFLICT (sku) DO UPDATE SET available = EXCLUDED.available, updated_at = now()
     RETURNING sku, available, reserved`,
    [sku, available],
  );
  return rows[0]!;
}

export async function getPoints(pool: Pool, customerId: string): Promise<number> {
  const { rows } = await pool.query<{ points: number }>(
    'SELECT COALESCE(SUM(points), 0)::int AS points FROM loyalty.ledger WHERE customer_id = $1',
    [customerId],
  );
  return rows[0]?.points ?? 0;
}

const skuParams = z.object({ sku: skuSchema });

/** GET and PUT /inventory/:sku, GET /customers/:customerId/points. */
export function stockAndPointsRoutes(
  app: ZodApi,
  pool: Pool,
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
        response: { 200: stockSchema.describe("The SKU's stock"), ...refusals(400, 404) },
      },
    },
    async (req, reply) => {
      const stock = await getStock(pool, req.params.sku);
      if (!stock) return reply.code(404).send({ error: 'not_found', message: 'no such SKU' });
      return reply.code(200).send(stock);
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
          ...refusals(...BODY_REFUSALS),
        },
      },
    },
    async (req, reply) => {
      req.log.info({ sku: req.params.sku, apiKeyName: req.apiKeyName }, 'stock set');
      return reply.code(200).send(await setStock(pool, req.params.sku, req.body.available));
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
          ...refusals(400),
        },
      },
    },
    async (req, reply) =>
      reply.code(200).send({
        customerId: req.params.customerId,
        points: await getPoints(pool, req.params.customerId),
      }),
  );
}
