import { jetstreamManager } from '@nats-io/jetstream';
import { Gauge } from 'prom-client';
import { serverApiKeys } from '../platform/security/credentials';
import { buildApi } from '../orders/api/server';
import { registerOrderGauges } from '../orders/order-gauges';
import { OrderService } from '../orders/order-service';
import type { Config } from '../platform/config';
import { openConnections } from '../platform/db/pool';
import type { Logger } from '../platform/logger';
import { registerBacklogGauges } from '../platform/metrics/backlog-gauges';
import { createRegistry } from '../platform/metrics/registry';
import { askerOf } from '../services/core/queries';
import { Resources } from './resources';
import type { Component } from './resources';

/** Connections the accepting path uses at once: the batched inserts (two in flight) and reads beside. */
const ACCEPT_CONNECTIONS = 4;

/** The HTTP API: accepts orders, answers once each is committed, and starts its workflow right after. */
export async function startApi(config: Config, log: Logger): Promise<Component & { port: number }> {
  // First: without keys the API must not start, and nothing should be connected by then.
  const keys = serverApiKeys(config);
  return Resources.open(config, async (r) => {
    // The accepting path's connections are open before the first order, and stay open.
    const pool = r.pool('api', { max: 20, min: ACCEPT_CONNECTIONS });
    await openConnections(pool, ACCEPT_CONNECTIONS);
    const temporal = await r.temporalClient('api');
    const nc = await r.nats('api');
    const registry = createRegistry('api');
    registerBacklogGauges(registry, {
      jsm: await jetstreamManager(nc),
      temporal,
      pool,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
    });
    registerOrderGauges(registry, pool);
    const orders = new OrderService(temporal, pool, config, { deferStarts: log });
    const starter = r.add(orders.starter!, (s) => s.stop());
    void starter.sweep();
    new Gauge({
      name: 'shipshape_workflow_starts_pending',
      help: 'Accepted orders whose workflow this API process has still to start',
      registers: [registry],
      collect() {
        this.set(starter.pending);
      },
    });
    const app = r.add(
      buildApi({
        orders,
        pool,
        ask: askerOf(nc),
        registry,
        log,
        auth: {
          keys,
          ratePerMin: config.api.ratePerMin,
          anonymousRatePerMin: config.api.anonymousRatePerMin,
        },
      }),
      (a) => a.close(),
    );
    await app.listen({ port: config.api.port, host: config.api.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.api.port;
    log.info({ port }, 'API listening');
    return { port };
  });
}
