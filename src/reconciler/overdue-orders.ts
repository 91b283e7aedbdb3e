import { TERMINAL_STATUSES } from '../domain/types';
import type { ReconcilerDeps } from './deps';

/**
 * Orders not ended that have lived longer than SHIPSHAPE_ORDER_LIFETIME_HOURS. The retentions of the
 * services' records are sized on that lifetime: past it, a reset of such an order could re-send
 * commands its services have forgotten. Each round counts them (a gauge, to alert on) and names the
 * oldest in a log line; a person finishes or resolves them.
 */
export async function reportOverdueOrders(deps: ReconcilerDeps): Promise<string[]> {
  const { rows } = await deps.pool.query<{ order_id: string; total: number }>(
    `SELECT order_id, count(*) OVER ()::int AS total FROM app.orders
     WHERE status <> ALL($1) AND created_at < now() - make_interval(hours => $2)
     ORDER BY created_at LIMIT 10`,
    [TERMINAL_STATUSES, deps.orderLifetimeHours],
  );
  const total = rows[0]?.total ?? 0;
  deps.metrics?.overdueOrders.set(total);
  const oldest = rows.map((r) => r.order_id);
  if (total)
    deps.log.warn(
      { total, oldest, lifetimeHours: deps.orderLifetimeHours },
      'orders have lived past SHIPSHAPE_ORDER_LIFETIME_HOURS: finish or resolve them, or their services may prune records a reset would need',
    );
  return oldest;
}
