import type { QueryHandlers } from '../core/queries';
import { commonQueries } from '../core/service-queries';

/** What the shipping service answers: the common questions. */
export const shippingQueries: QueryHandlers = commonQueries(
  'shipping',
  `SELECT order_id FROM shipping.shipments WHERE order_id = ANY($1) AND status = 'created'`,
);
