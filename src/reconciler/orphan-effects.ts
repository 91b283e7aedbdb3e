import type { StepName } from '../domain/types';
import type { OrderRow } from '../orders/order-store';
import { endedOrdersHoldingEffects } from '../orders/order-store';
import { startCleanup } from './cleanups';
import type { ReconcilerDeps, ReconcilerSettings } from './deps';
import type { ReconcilerState } from './state';

/** An order that ended but whose services still hold an effect of it, and the cleanup started. */
export interface Orphan {
  orderId: string;
  /** The steps whose effect is still held. */
  effects: StepName[];
  cleanup: 'started' | 'running' | 'gave-up';
}

/**
 * Orders that ended without completing (FAILED, CANCELLED, TERMINATED, TIMED_OUT) while a service
 * still holds an effect of theirs — one that landed after the order compensated, say from a run a
 * reset replaced — oldest first, paged across rounds. Each gets a cleanup, which keeps the status the
 * order ended with. An effect whose compensation an operator gave up is theirs: it is never undone here.
 */
export async function undoOrphanEffects(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state: ReconcilerState,
): Promise<Orphan[]> {
  const page = await endedOrdersHoldingEffects(
    deps.pool,
    state.endedOrdersAfter,
    settings.maxPerRound,
  );
  state.endedOrdersAfter = page.next;
  const out: Orphan[] = [];
  for (const { row, effects } of page.orders) {
    const latest = await deps.temporal.workflow
      .getHandle(row.workflowId)
      .describe()
      .catch(() => undefined);
    const cleanup = await startCleanup(deps, settings, row, {
      endAs: row.status,
      reason: row.failureReason ?? `ended ${row.status}`,
      steps: row.steps,
      taskQueue: latest?.taskQueue ?? deps.taskQueue,
    });
    out.push({ orderId: row.orderId, effects, cleanup });
  }
  return out;
}

export type { OrderRow };
