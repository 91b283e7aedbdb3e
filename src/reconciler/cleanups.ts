import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { OrderStatus, StepName, StepView } from '../domain/types';
import { countCleanupStarted, markNeedsAttention } from '../orders/order-store';
import type { OrderRow } from '../orders/order-store';
import { loadOrderRequest } from '../orders/order-store';
import {
  CLEANUP_WORKFLOW_TYPE,
  cleanupWorkflowIdFor,
  CustomerIdKey,
  OrderProgressAtKey,
  OrderStatusKey,
  OrderTotalCentsKey,
} from '../../workflows/definitions';
import type { OrderCleanupInput } from '../../workflows/order-input';
import type { ReconcilerDeps, ReconcilerSettings } from './deps';

/** What a request for a cleanup came to. */
export type CleanupStart = 'started' | 'running' | 'gave-up';

/**
 * Starts `cleanup-order-<id>`, which undoes what the order holds (order-cleanup.ts), unless one runs
 * already. Each start counts against the order's limit; past it, the order is marked as needing a
 * person instead. Safe to call again and from several reconcilers: one cleanup runs at a time.
 */
export async function startCleanup(
  deps: ReconcilerDeps,
  settings: Pick<ReconcilerSettings, 'maxCleanups'>,
  row: OrderRow,
  why: {
    endAs: OrderStatus;
    reason: string;
    steps?: Record<StepName, StepView> | null;
    /** Where the order's runs ran: its cleanup runs on the same workers. */
    taskQueue: string;
  },
): Promise<CleanupStart> {
  if (row.cleanupRuns >= settings.maxCleanups) {
    await markNeedsAttention(
      deps.pool,
      row.orderId,
      `${row.cleanupRuns} cleanups did not leave it whole (${why.reason}): check what its services hold and resolve it by hand`,
    );
    deps.metrics?.actions.inc({ action: 'gave_up' });
    return 'gave-up';
  }
  const order = await loadOrderRequest(deps.pool, row.orderId);
  if (!order) throw new Error(`order ${row.orderId} has no recorded request`);
  const steps = why.steps ?? undefined;
  const leave = steps
    ? (Object.keys(steps) as StepName[]).filter((s) => steps[s].state === 'COMPENSATION_ABANDONED')
    : [];
  const input: OrderCleanupInput = {
    order,
    settings: deps.workflowSettings,
    endAs: why.endAs,
    reason: why.reason,
    ...(steps ? { steps } : {}),
    ...(leave.length ? { leave } : {}),
  };
  try {
    await deps.temporal.workflow.start(CLEANUP_WORKFLOW_TYPE, {
      taskQueue: why.taskQueue,
      workflowId: cleanupWorkflowIdFor(row.orderId),
      args: [input],
      // Another cleanup may follow one that ended (an effect that landed later); never two at once.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      typedSearchAttributes: [
        { key: OrderStatusKey, value: 'COMPENSATING' },
        { key: CustomerIdKey, value: row.customerId },
        { key: OrderTotalCentsKey, value: row.totalCents },
        { key: OrderProgressAtKey, value: new Date() },
      ],
      memo: { summary: `undoes order ${row.orderId}: ${why.reason}` },
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    throw err;
  }
  await countCleanupStarted(deps.pool, row.orderId);
  deps.metrics?.actions.inc({ action: 'cleanup_started' });
  return 'started';
}
