import type { Pool } from 'pg';
import type { QueryHandlers, Stock } from '../core/queries';
import { commonQueries } from '../core/service-queries';

/** A SKU's stock, or undefined when it was never set. */
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

/** What the inventory service answers: stock, read and set, besides the common questions. */
export const inventoryQueries: QueryHandlers = {
  ...commonQueries(
    'inventory',
    `SELECT order_id FROM inventory.reservations
     WHERE order_id = ANY($1) AND state IN ('reserved', 'committed')`,
  ),
  'stock.get': async (pool, { sku }) => (await getStock(pool, sku)) ?? null,
  'stock.set': async (pool, { sku, available }) => setStock(pool, sku, available),
};
