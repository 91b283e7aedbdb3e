import type { QueryHandlers } from '../core/queries';
import { commonQueries } from '../core/service-queries';

/** What the loyalty service answers: a customer's balance, besides the common questions. */
export const loyaltyQueries: QueryHandlers = {
  ...commonQueries(
    'loyalty',
    `SELECT l.order_id FROM loyalty.ledger l
     WHERE l.order_id = ANY($1) AND l.kind = 'award' AND l.points > 0
       AND NOT EXISTS (SELECT 1 FROM loyalty.ledger r WHERE r.order_id = l.order_id AND r.kind = 'reverse')`,
  ),
  points: async (pool, { customerId }) => {
    const { rows } = await pool.query<{ points: number }>(
      'SELECT COALESCE(SUM(points), 0)::int AS points FROM loyalty.ledger WHERE customer_id = $1',
      [customerId],
    );
    return rows[0]?.points ?? 0;
  },
};
