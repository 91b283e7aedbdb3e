import { WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { isTerminal } from '../domain/orders';
import type { OrderStatus, OrderView } from '../domain/types';
import { findOrder } from '../orders/order-store';
import {
  ORDER_WORKFLOW_TYPE,
  orderIdOf,
  orderStateQuery,
  workflowIdFor,
} from '../../workflows/definitions';
import { startCleanup } from './cleanups';
import type { CleanupStart } from './cleanups';
import type { ReconcilerDeps, ReconcilerSettings } from './deps';

/**
 * Runs of order workflows that closed before their saga finished: terminated (from the UI, the CLI,
 * a batch), timed out, failed. Temporal leaves what such a run did to the application; each is handed
 * to a cleanup once it is the order's latest run (a reset terminates a run and starts another, which
 * must not be undone under it).
 */

/** How Temporal says a run closed, and the order status that says it after the cleanup. */
const ENDED_AS: Partial<Record<WorkflowExecutionInfo['status']['name'], OrderStatus>> = {
  TERMINATED: 'TERMINATED',
  TIMED_OUT: 'TIMED_OUT',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
};

/** Visibility's query for them, closed since `since`. */
export const closedUnfinishedQuery = (since: Date): string =>
  `WorkflowType = "${ORDER_WORKFLOW_TYPE}" AND ExecutionStatus IN ("Terminated", "TimedOut", "Failed", "Canceled") ` +
  `AND CloseTime > "${since.toISOString()}"`;

/** The order runs that closed unfinished since `since` (at most `max`), newest close last. */
export async function closedUnfinishedRuns(
  deps: ReconcilerDeps,
  since: Date,
  max: number,
): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const wf of deps.temporal.workflow.list({
    query: closedUnfinishedQuery(since),
    pageSize: Math.min(max, 1000),
  })) {
    runs.push(wf);
    if (runs.length >= max) break;
  }
  return runs.sort((a, b) => (a.closeTime?.getTime() ?? 0) - (b.closeTime?.getTime() ?? 0));
}

/** What became of one closed run. */
export type ClosedRunOutcome = CleanupStart | 'not-latest' | 'not-an-order' | 'ended';

/**
 * Hands a closed run to a cleanup if it is still its order's latest run and the order has not ended
 * (a run terminated after it recorded COMPLETED, FAILED or CANCELLED left nothing to undo).
 */
export async function cleanUpClosedRun(
  deps: ReconcilerDeps,
  settings: Pick<ReconcilerSettings, 'maxCleanups'>,
  run: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'status' | 'taskQueue'>,
): Promise<ClosedRunOutcome> {
  const orderId = orderIdOf(run.workflowId);
  if (!orderId || !ENDED_AS[run.status.name] || run.workflowId !== workflowIdFor(orderId))
    return 'not-an-order';
  try {
    const latest = await deps.temporal.workflow.getHandle(run.workflowId).describe();
    if (latest.runId !== run.runId || latest.status.name === 'RUNNING') return 'not-latest';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'not-latest';
    throw err;
  }
  const row = await findOrder(deps.pool, orderId);
  if (!row) return 'not-an-order';
  if (isTerminal(row.status)) return 'ended';
  const facts = await closedRunFacts(deps, run);
  const outcome = await startCleanup(deps, settings, row, {
    endAs: facts.endAs,
    reason: facts.reason,
    steps: facts.steps ?? row.steps,
    taskQueue: run.taskQueue,
  });
  if (outcome === 'started')
    deps.log.warn(
      { orderId, workflowId: run.workflowId, runId: run.runId, closed: run.status.name },
      'order run closed before its saga finished; cleanup started',
    );
  return outcome;
}

/** What a cleanup needs to know of a closed run: how to end, why in words, its steps when it closed. */
export async function closedRunFacts(
  deps: Pick<ReconcilerDeps, 'temporal' | 'namespace'>,
  run: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'status'>,
): Promise<{ endAs: OrderStatus; reason: string; steps: OrderView['steps'] | undefined }> {
  return {
    endAs: ENDED_AS[run.status.name] ?? 'FAILED',
    reason: await closeReason(deps, run.workflowId, run.runId, run.status.name),
    steps: (await lastView(deps, run.workflowId, run.runId))?.steps,
  };
}

/** The closed run's view as it stood when it closed (its query, replayed by a worker), if it answers. */
async function lastView(
  deps: Pick<ReconcilerDeps, 'temporal'>,
  workflowId: string,
  runId: string,
): Promise<OrderView | undefined> {
  try {
    return await deps.temporal.withDeadline(Date.now() + 5_000, () =>
      deps.temporal.workflow.getHandle(workflowId, runId).query(orderStateQuery),
    );
  } catch {
    return undefined;
  }
}

/** How the run closed, in words: the close event Temporal recorded, with who terminated it and why. */
async function closeReason(
  deps: Pick<ReconcilerDeps, 'temporal' | 'namespace'>,
  workflowId: string,
  runId: string,
  status: WorkflowExecutionInfo['status']['name'],
): Promise<string> {
  const { history } = await deps.temporal.workflowService.getWorkflowExecutionHistory({
    namespace: deps.namespace,
    execution: { workflowId, runId },
    historyEventFilterType:
      proto.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
  });
  const event = history?.events?.[0];
  const terminated = event?.workflowExecutionTerminatedEventAttributes;
  if (terminated) {
    const by = terminated.identity ? ` by ${terminated.identity}` : '';
    return `terminated in Temporal${by}: ${terminated.reason || 'no reason given'}`;
  }
  if (event?.workflowExecutionTimedOutEventAttributes)
    return 'timed out in Temporal (its run or execution timeout)';
  if (status === 'CANCELLED') return 'cancelled in Temporal before its saga finished';
  return 'failed in Temporal (its history says why)';
}
