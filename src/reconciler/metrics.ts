import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** What the reconciler counts: what it did, and the open runs whose workflow tasks keep failing. */
export function reconcilerMetrics(registry: Registry) {
  return {
    actions: new Counter({
      name: 'shipshape_reconciler_actions_total',
      help: 'What the reconciler did, by action (signalled, started, cleanup_started, needs_attention, gave_up)',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    overdueOrders: new Gauge({
      name: 'shipshape_orders_past_lifetime',
      help: 'Orders not ended that have lived longer than SHIPSHAPE_ORDER_LIFETIME_HOURS (alert on any: resolve or finish them)',
      registers: [registry],
    }),
    failingTasks: new Gauge({
      name: 'shipshape_orders_failing_workflow_tasks',
      help: 'Open order runs whose workflow tasks kept failing at the last round (a bug: see their history)',
      registers: [registry],
    }),
  };
}
export type ReconcilerMetrics = ReturnType<typeof reconcilerMetrics>;
