import { jetstream } from '@nats-io/jetstream';
import { OrderService } from '../orders/order-service';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createRegistry } from '../platform/metrics/registry';
import { startReconciler } from '../reconciler/reconciler';
import { Resources } from './resources';
import type { Component } from './resources';

/** The reconciler: un-sticks orders that made no progress and compensates effects no workflow accounts for. */
export async function startReconcilerProcess(config: Config, log: Logger): Promise<Component> {
  return Resources.open(config, async (r) => {
    const pool = r.pool('reconciler', { max: 3 });
    const nc = await r.nats('reconciler');
    const temporal = await r.temporalClient();
    r.add(
      startReconciler(
        {
          temporal,
          pool,
          js: jetstream(nc),
          orders: new OrderService(temporal, pool, config),
          namespace: config.temporal.namespace,
          log,
        },
        config.reconciler,
      ),
      (reconciler) => reconciler.stop(),
    );
    await r.metrics(createRegistry('reconciler'));
    log.info(config.reconciler, 'reconciler running');
    return {};
  });
}
