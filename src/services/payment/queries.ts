import type { QueryHandlers } from '../core/queries';
import { commonQueries } from '../core/service-queries';

/** What the payment service answers: the common questions. */
export const paymentQueries: QueryHandlers = commonQueries(
  'payment',
  `SELECT order_id FROM payment.charges WHERE order_id = ANY($1) AND status = 'charged'`,
);
