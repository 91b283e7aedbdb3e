import { WorkflowNotFoundError } from '@temporalio/client';
import {
  CLEANUP_WORKFLOW_TYPE,
  ORDER_WORKFLOW_TYPE,
  orderIdOf,
  OrderProgressAtKey,
  reconcileSignal,
} from '../../workflows/definitions';
import type { ReconcilerDeps, ReconcilerSettings } from './deps';
import type { ReconcilerState } from './state';

/**
 * Running orders (and cleanups) without progress since the threshold, from Temporal visibility, the
 * longest stuck first: each is signalled to reconcile. An order signalled within the last threshold
 * waits its turn behind the others, so a few that never move cannot keep the rest from being looked
 * at. Runs whose workflow tasks fail are not signalled (a signal cannot fix a bug; the open-orders
 * check reports them).
 */
export async function signalStuckOrders(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state: ReconcilerState,
): Promise<string[]> {
  const now = Date.now();
  const olderThan = new Date(now - settings.thresholdMs);
  const query =
    `WorkflowType IN ("${ORDER_WORKFLOW_TYPE}", "${CLEANUP_WORKFLOW_TYPE}") AND ExecutionStatus = "Running" ` +
    `AND OrderProgressAt < "${olderThan.toISOString()}" AND OrderStatus != "NEEDS_ATTENTION"`;
  const stuck: { workflowId: string; progressAt: number }[] = [];
  // Visibility cannot sort here: read a bounded page set and take the longest stuck first.
  for await (const wf of deps.temporal.workflow.list({ query, pageSize: 1000 })) {
    const progressAt = wf.typedSearchAttributes.get(OrderProgressAtKey)?.getTime() ?? 0;
    stuck.push({ workflowId: wf.workflowId, progressAt });
    if (stuck.length >= settings.maxPerRound * 10) break;
  }
  stuck.sort((a, b) => a.progressAt - b.progressAt);
  const signalled: string[] = [];
  for (const { workflowId } of stuck) {
    if (signalled.length >= settings.maxPerRound) break;
    const orderId = orderIdOf(workflowId);
    if (!orderId || state.failing.has(orderId)) continue;
    const before = state.signalled.get(workflowId);
    if (before && now - before < settings.thresholdMs) continue;
    try {
      await deps.temporal.workflow
        .getHandle(workflowId)
        .signal(reconcileSignal, { reason: 'no progress' });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
    state.signalled.set(workflowId, now);
    deps.metrics?.actions.inc({ action: 'signalled' });
    signalled.push(orderId);
  }
  // Forget orders that are no longer stuck.
  const current = new Set(stuck.map((s) => s.workflowId));
  for (const id of state.signalled.keys()) if (!current.has(id)) state.signalled.delete(id);
  return signalled;
}
