/**
 * Plain rules about an order, shared by the workflow, the API and the services.
 * Pure code without I/O: workflow code may import this file.
 */
import { TERMINAL_STATUSES } from './types';
import type { OrderRequest, OrderStatus } from './types';

/** The order's total: what is charged, and what loyalty points are counted from. */
export const orderTotalCents = (order: Pick<OrderRequest, 'items'>): number =>
  order.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);

/** True once the order has ended: completed, cancelled or failed. */
export const isTerminal = (status: OrderStatus): boolean => TERMINAL_STATUSES.includes(status);
