import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createRegistry, laneGauge } from '../platform/metrics/registry';
import { startDeadLetterWatcher } from '../replies/dead-letter-watcher';
import { startReplyBridge } from '../replies/reply-bridge';
import { Resources } from './resources';
import type { Component } from './resources';

/** The reply bridge, and the dead-letter watcher that also tells workflows what will never answer. */
export async function startBridge(config: Config, log: Logger): Promise<Component> {
  return Resources.open(config, async (r) => {
    const temporal = await r.temporalClient('reply-bridge');
    const nc = await r.nats('reply-bridge');
    const pool = r.pool('reply-bridge', { max: 2 });
    const bridge = r.add(await startReplyBridge({ nc, temporal, log, lanes: config.lanes }), (b) =>
      b.stop(),
    );
    r.add(await startDeadLetterWatcher({ nc, pool, temporal, log }), (d) => d.stop());
    const registry = createRegistry('reply-bridge');
    laneGauge(registry, 'reply-bridge', () => bridge.lanes);
    await r.metrics(registry);
    log.info('reply bridge consuming replies; dead-letter watcher consuming advisories');
    return {};
  });
}
