import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { idSchema, inventoryPutSchema, skuSchema } from '../../domain/schemas';
import type { Scope } from '../../platform/security/api-keys';
import type { RouteOptions } from './server';
import { checked } from './validation';

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

/** GET and PUT /inventory/:sku, GET /customers/:customerId/points. */
export function stockAndPointsRoutes(
  app: FastifyInstance,
  pool: Pool,
  need: (scope: Scope) => RouteOptions,
): void {
  app.get<{ Params: { sku: string } }>('/inventory/:sku', need('operate'), async (req, reply) => {
    const ok = checked(reply, { sku: { schema: skuSchema, value: req.params.sku, field: 'sku' } });
    if (!ok) return reply;
    const stock = await getStock(pool, ok.sku);
    if (!stock) return reply.code(404).send({ error: 'not_found', message: 'no such SKU' });
    return stock;
  });

  app.put<{ Params: { sku: string } }>('/inventory/:sku', need('operate'), async (req, reply) => {
    const ok = checked(reply, {
      sku: { schema: skuSchema, value: req.params.sku, field: 'sku' },
      body: { schema: inventoryPutSchema, value: req.body },
    });
    if (!ok) return reply;
    req.log.info({ sku: ok.sku, apiKeyName: req.apiKeyName }, 'stock set');
    return setStock(pool, ok.sku, ok.body.available);
  });

  app.get<{ Params: { customerId: string } }>(
    '/customers/:customerId/points',
    need('orders:read'),
    async (req, reply) => {
      const ok = checked(reply, {
        customerId: { schema: idSchema, value: req.params.customerId, field: 'customerId' },
      });
      if (!ok) return reply;
      return { customerId: ok.customerId, points: await getPoints(pool, ok.customerId) };
    },
  );
}
