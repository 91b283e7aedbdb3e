import { succeeded } from '../core/handler';
import type { ServiceOf } from '../core/handler';

/** 1 point per 100 cents of the order total, rounded down. */
export const pointsFor = (totalCents: number): number => Math.floor(totalCents / 100);

export const loyaltyService: ServiceOf<'loyalty'> = {
  name: 'loyalty',
  handlers: {
    'loyalty.award': async (tx, cmd) => {
      const p = cmd.payload;
      const points = pointsFor(p.orderTotalCents);
      await tx.query(
        `INSERT INTO loyalty.ledger (customer_id, order_id, command_id, kind, points) VALUES ($1, $2, $3, 'award', $4)`,
        [p.customerId, cmd.orderId, cmd.commandId, points],
      );
      return succeeded({ points });
    },
    // Takes back exactly what the order was credited: nothing if the award never applied.
    'loyalty.reverse': async (tx, cmd) => {
      const p = cmd.payload;
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
