import type { Pool } from 'pg';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { TERMINAL_STATUSES } from '../domain/types';
import type { OrderStatus } from '../domain/types';
import { countOrdersByStatus } from './order-store';

/**
 * The statuses the orders table records: PENDING when an order is accepted, NEEDS_ATTENTION when it
 * waits for an operator, and how it ended. An order on its way counts as PENDING (its step is in the
 * Temporal UI and GET /orders/:id).
 */
const RECORDED_STATUSES: readonly OrderStatus[] = [
  'PENDING',
  'NEEDS_ATTENTION',
  ...TERMINAL_STATUSES,
];

/**
 * `shipshape_orders{status}`: the orders table counted by status when scraped; each recorded status is
 * there (0 when none), so a dashboard's series do not come and go.
 */
export function registerOrderGauges(registry: Registry, pool: Pool): void {
  new Gauge({
    name: 'shipshape_orders',
    help: 'Orders by the status the orders table records: PENDING (accepted, on its way), NEEDS_ATTENTION, COMPLETED, CANCELLED, FAILED',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await countOrdersByStatus(pool);
      for (const status of new Set([...RECORDED_STATUSES, ...counts.keys()]))
        this.set({ status }, counts.get(status) ?? 0);
    },
  });
}
