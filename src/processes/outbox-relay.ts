import { jetstream } from '@nats-io/jetstream';
import { Counter } from 'prom-client';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createRegistry, provenanceCounter } from '../platform/metrics/registry';
import { startOutboxRelay } from '../services/core/outbox-relay';
import { Resources } from './resources';
import type { Component } from './resources';

/** The outbox relay: publishes the replies a crash left in a service's outbox. */
export async function startRelay(config: Config, log: Logger): Promise<Component> {
  return Resources.open(config, async (r) => {
    const pool = r.pool('outbox-relay', { max: 2 });
    const nc = await r.nats('outbox-relay');
    const registry = createRegistry('outbox-relay');
    await r.metrics(registry);
    r.add(
      startOutboxRelay({
        pool,
        js: jetstream(nc),
        log,
        intervalMs: config.relay.intervalMs,
        graceMs: config.relay.graceMs,
        refused: provenanceCounter(registry),
        refusedSeen: new Set(),
        refusals: new Counter({
          name: 'shipshape_replies_refused_total',
          help: 'Replies the broker refuses for good (over its max_payload), passed over by the relay',
          labelNames: ['service'] as const,
          registers: [registry],
        }),
      }),
      (relay) => relay.stop(),
    );
    return {};
  });
}
