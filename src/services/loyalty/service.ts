import type { Pool } from 'pg';
import type { AwardCommand, ReverseCommand } from '../../domain/types';
import { succeeded } from '../core/handler';
import type { ServiceDefinition } from '../core/handler';

/** 1 point per 100 cents of the order total, rounded down. */
export const pointsFor = (totalCents: number): number => Math.floor(totalCents / 100);

export const loyaltyService: ServiceDefinition = {
  name: 'loyalty',
  handlers: {
    'loyalty.award': async (tx, cmd) => {
      const p = cmd.payload as AwardCommand;
      const points = pointsFor(p.orderTotalCents);
      await tx.query(
        `INSERT INTO loyalty.ledger (customer_id, order_id, command_id, kind, points) VALUES ($1, $2, $3, 'award', $4)`,
        [p.customerId, cmd.orderId, cmd.commandId, points],
      );
      return succeeded({ points });
    },
    // Takes back exactly what the order was credited: nothing if the award never applied.
    'loyalty.reverse': async (tx, cmd) => {
      const p = cmd.payload as ReverseCommand;
      const { rows } = await tx.query<{ points: number }>(
        `SELECT points FROM loyalty.ledger WHERE order_id = $1 AND kind = 'award'`,
        [cmd.orderId],
      );
      const points = -(rows[0]?.points ?? 0);
      await tx.query(
        `INSERT INTO loyalty.ledger (customer_id, order_id, command_id, kind, points) VALUES ($1, $2, $3, 'reverse', $4)`,
        [p.customerId, cmd.orderId, cmd.commandId, points],
      );
      return succeeded({ points });
    },
  },
};

export async function getPoints(pool: Pool, customerId: string): Promise<number> {
  const { rows } = await pool.query<{ points: number }>(
    'SELECT COALESCE(SUM(points), 0)::int AS points FROM loyalty.ledger WHERE customer_id = $1',
    [customerId],
  );
  return rows[0]?.points ?? 0;
}
