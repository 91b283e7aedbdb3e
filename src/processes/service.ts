import type { ServiceName } from '../domain/types';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { consumerMetrics, createRegistry, laneGauge } from '../platform/metrics/registry';
import { startCommandConsumer } from '../services/core/command-consumer';
import type { ServiceDefinition } from '../services/core/handler';
import { RateLimiter } from '../services/core/rate-limiter';
import { inventoryService } from '../services/inventory/service';
import { loyaltyService } from '../services/loyalty/service';
import { paymentService } from '../services/payment/service';
import { PaymentProviderClient } from '../services/payment/payment-client';
import { CarrierClient } from '../services/shipping/carrier-client';
import { shippingService } from '../services/shipping/service';
import { serveQueries } from '../services/core/queries';
import type { QueryHandlers } from '../services/core/queries';
import { inventoryQueries } from '../services/inventory/queries';
import { loyaltyQueries } from '../services/loyalty/queries';
import { paymentQueries } from '../services/payment/queries';
import { shippingQueries } from '../services/shipping/queries';
import { personalDataFor } from '../platform/security/configured-data-keys';
import { startPruning } from '../platform/db/pruning';
import { retentionMetrics } from '../platform/metrics/table-sizes';
import { orderRecordPruning, recordTables } from '../services/core/record-pruning';
import { Resources } from './resources';
import type { Component } from './resources';

/** Oldest commands (and notes) one pruning transaction looks at: some tens of orders. */
const PRUNE_BATCH = 500;

/** What each service answers about its own tables. */
const QUERIES: Record<ServiceName, QueryHandlers> = {
  inventory: inventoryQueries,
  payment: paymentQueries,
  loyalty: loyaltyQueries,
  shipping: shippingQueries,
};

/** A service's handlers, with the provider client it calls (payment and shipping). */
export function serviceDefinition(config: Config, name: ServiceName): ServiceDefinition {
  const { providers } = config;
  switch (name) {
    case 'inventory':
      return inventoryService;
    case 'loyalty':
      return loyaltyService;
    case 'payment':
      return paymentService(
        new PaymentProviderClient(
          providers.paymentUrl,
          providers.timeoutMs,
          new RateLimiter(providers.paymentRatePerSec),
        ),
      );
    case 'shipping':
      return shippingService(
        new CarrierClient(
          providers.carrierUrl,
          providers.timeoutMs,
          new RateLimiter(providers.carrierRatePerSec),
        ),
        personalDataFor(config),
      );
  }
}

/** One service: consumes its commands and records each effect, exactly once, in its own tables. */
export async function startService(
  config: Config,
  name: ServiceName,
  log: Logger,
): Promise<Component> {
  return Resources.open(config, async (r) => {
    const pool = r.pool(name, { max: config.lanes + 2 });
    const nc = await r.nats(name);
    const registry = createRegistry(name);
    const definition = serviceDefinition(config, name);
    const consumer = r.add(
      await startCommandConsumer({
        nc,
        pool,
        service: definition,
        log,
        lanes: config.lanes,
        maxDeliver: config.messaging.maxDeliver,
        metrics: consumerMetrics(registry),
      }),
      (c) => c.stop(),
    );
    laneGauge(registry, name, () => consumer.lanes);
    // Other processes ask it about its tables instead of reading them (queries.ts).
    r.add(serveQueries(nc, pool, name, QUERIES[name], log), (s) => s.drain());
    // The service's record of each order's commands is its own to prune (record-pruning.ts).
    const notesCalls = (definition.providerCalls ?? []).length > 0;
    r.add(
      startPruning({
        what: `${name}'s order records`,
        pruneBatch: orderRecordPruning({
          pool,
          service: name,
          notesCalls,
          retentionHours: config.retention.commandHours,
          metrics: retentionMetrics(registry, pool, recordTables(name, notesCalls)),
          log,
        }),
        batch: PRUNE_BATCH,
        periodMs: config.retention.prunePeriodMs,
        log,
      }),
      (p) => p.stop(),
    );
    await r.metrics(registry);
    log.info({ service: name, lanes: config.lanes }, 'service consuming commands');
    return {};
  });
}
