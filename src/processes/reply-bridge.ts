import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createRegistry, laneGauge, provenanceCounter } from '../platform/metrics/registry';
import { startPruning } from '../platform/db/pruning';
import { retentionMetrics } from '../platform/metrics/table-sizes';
import { deadLetterPruning } from '../replies/dead-letter-store';
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
    const registry = createRegistry('reply-bridge');
    const refused = provenanceCounter(registry);
    const bridge = r.add(
      await startReplyBridge({ nc, temporal, log, lanes: config.lanes, refused }),
      (b) => b.stop(),
    );
    r.add(await startDeadLetterWatcher({ nc, pool, temporal, log, registry }), (d) => d.stop());
    laneGauge(registry, 'reply-bridge', () => bridge.lanes);
    // The dead letters are the watcher's to record, and so to prune.
    r.add(
      startPruning({
        what: 'dead letters',
        pruneBatch: deadLetterPruning({
          pool,
          retentionHours: config.retention.deadLetterHours,
          metrics: retentionMetrics(registry, pool, ['app.dead_letters']),
          log,
        }),
        batch: 500,
        periodMs: config.retention.prunePeriodMs,
        log,
      }),
      (p) => p.stop(),
    );
    await r.metrics(registry);
    log.info('reply bridge consuming replies; dead-letter watcher consuming advisories');
    return {};
  });
}
