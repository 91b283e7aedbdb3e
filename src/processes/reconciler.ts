import { OrderService } from '../orders/order-service';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createRegistry } from '../platform/metrics/registry';
import { reconcilerMetrics } from '../reconciler/metrics';
import { startReconciler } from '../reconciler/reconciler';
import type { ReconcilerDeps } from '../reconciler/reconciler';
import { askerOf } from '../services/core/queries';
import { Resources } from './resources';
import type { Component } from './resources';

/** The same dependencies for the reconciler process and the CLI's one-off round. */
export function reconcilerDeps(
  config: Config,
  parts: Pick<ReconcilerDeps, 'temporal' | 'pool' | 'log' | 'metrics' | 'ask'>,
): ReconcilerDeps {
  return {
    ...parts,
    orders: new OrderService(parts.temporal, parts.pool, config),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowSettings: config.workflow,
    orderLifetimeHours: config.retention.orderLifetimeHours,
  };
}

/**
 * The reconciler: un-sticks orders that made no progress, starts orders left without a workflow, and
 * hands orders whose run closed unfinished, or that still hold effects after ending, to a cleanup.
 */
export async function startReconcilerProcess(config: Config, log: Logger): Promise<Component> {
  return Resources.open(config, async (r) => {
    const pool = r.pool('reconciler', { max: 3 });
    const temporal = await r.temporalClient('reconciler');
    const ask = askerOf(await r.nats('reconciler'));
    const registry = createRegistry('reconciler');
    const metrics = reconcilerMetrics(registry);
    r.add(
      startReconciler(
        reconcilerDeps(config, { temporal, pool, log, metrics, ask }),
        config.reconciler,
      ),
      (reconciler) => reconciler.stop(),
    );
    await r.metrics(registry);
    log.info(config.reconciler, 'reconciler running');
    return {};
  });
}
