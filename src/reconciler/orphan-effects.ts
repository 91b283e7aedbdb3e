import type { StepName } from '../domain/types';
import type { OrderRow } from '../orders/order-store';
import { endedOrdersPage } from '../orders/order-store';
import { SERVICES } from '../domain/types';
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
  const page = await endedOrdersPage(deps.pool, state.endedOrdersAfter, settings.maxPerRound);
  state.endedOrdersAfter = page.next;
  if (!page.rows.length) return [];
  // Each service says which of these orders it still holds an effect of: its tables are its own.
  const held = new Map<string, StepName[]>();
  const orderIds = page.rows.map((r) => r.orderId);
  for (const service of SERVICES)
    for (const id of await deps.ask(service, 'holds', { orderIds }))
      held.set(id, [...(held.get(id) ?? []), service]);
  const out: Orphan[] = [];
  for (const row of page.rows) {
    // An effect whose compensation an operator gave up is theirs.
    const effects = (held.get(row.orderId) ?? []).filter(
      (step) => row.steps?.[step]?.state !== 'COMPENSATION_ABANDONED',
    );
    if (!effects.length) continue;
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
