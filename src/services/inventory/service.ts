import type { PoolClient } from 'pg';
import type { CommandEnvelope } from '../../domain/types';
import { rejected, succeeded } from '../core/handler';
import type { ServiceOf } from '../core/handler';

/** Sums repeated SKUs and sorts them, so concurrent reservations lock rows in one order (no deadlocks). */
function mergeItems(items: { sku: string; quantity: number }[]): [string, number][] {
  const m = new Map<string, number>();
  for (const i of items) m.set(i.sku, (m.get(i.sku) ?? 0) + i.quantity);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

async function reserve(tx: PoolClient, cmd: CommandEnvelope<'inventory.reserve'>) {
  const { items } = cmd.payload;
  await tx.query('SAVEPOINT reserve_all');
  for (const [sku, quantity] of mergeItems(items)) {
    const { rowCount } = await tx.query(
      `UPDATE inventory.stock SET available = available - $2, reserved = reserved + $2, updated_at = now()
       WHERE sku = $1 AND available >= $2`,
      [sku, quantity],
    );
    if (!rowCount) {
      // All or none: undo what this command reserved so far, keep the consumed record and the reply.
      await tx.query('ROLLBACK TO SAVEPOINT reserve_all');
      return rejected('out_of_stock', `not enough stock for ${sku} (wanted ${quantity})`);
    }
    await tx.query(
      `INSERT INTO inventory.reservations (order_id, sku, quantity, state) VALUES ($1, $2, $3, 'reserved')`,
      [cmd.orderId, sku, quantity],
    );
  }
  await tx.query('RELEASE SAVEPOINT reserve_all');
  return succeeded({ reserved: items.length });
}

/**
 * Moves an order's reservation out of stock for good (commit), or gives back what the order holds
 * (release): reserved units, and units already committed when the cleanup of a run that closed before
 * it completed undoes the order.
 */
async function settle(
  tx: PoolClient,
  cmd: CommandEnvelope<'inventory.commit' | 'inventory.release'>,
  to: 'committed' | 'released',
) {
  const { rows } = await tx.query<{ sku: string; quantity: number; was: 'reserved' | 'committed' }>(
    `UPDATE inventory.reservations r SET state = $2, updated_at = now()
     FROM inventory.reservations old
     WHERE r.order_id = $1 AND old.order_id = r.order_id AND old.sku = r.sku
       AND r.state = ANY($3::text[])
     RETURNING r.sku, r.quantity, old.state AS was`,
    [cmd.orderId, to, to === 'committed' ? ['reserved'] : ['reserved', 'committed']],
  );
  rows.sort((a, b) => (a.sku < b.sku ? -1 : 1));
  for (const r of rows) {
    await tx.query(
      to === 'committed'
        ? `UPDATE inventory.stock SET reserved = reserved - $2, updated_at = now() WHERE sku = $1`
        : r.was === 'reserved'
          ? `UPDATE inventory.stock SET reserved = reserved - $2, available = available + $2, updated_at = now() WHERE sku = $1`
          : `UPDATE inventory.stock SET available = available + $2, updated_at = now() WHERE sku = $1`,
      [r.sku, r.quantity],
    );
  }
  return succeeded({ [to]: rows.reduce((n, r) => n + r.quantity, 0) });
}

export const inventoryService: ServiceOf<'inventory'> = {
  name: 'inventory',
  handlers: {
    'inventory.reserve': reserve,
    'inventory.commit': (tx, cmd) => settle(tx, cmd, 'committed'),
    'inventory.release': (tx, cmd) => settle(tx, cmd, 'released'),
  },
};
