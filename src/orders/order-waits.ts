import type { Client } from '@temporalio/client';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { OrderRequest, OrderView } from '../domain/types';
import { hasReached } from '../domain/wait-points';
import type { WaitPoint } from '../domain/wait-points';
import { ORDER_WORKFLOW_TYPE, waitForUpdate } from '../../workflows/definitions';
import type { WaitForRequest } from '../../workflows/definitions';
import type { OrderWorkflowSettings } from '../../workflows/order-input';
import { orderStartOptions } from './order-workflow';

/**
 * Waiting on an order's workflow until it reaches a point (src/domain/wait-points.ts): the `waitFor`
 * update, which the workflow answers once the order is there or has ended. The API and the client
 * library both wait through this.
 */

export type WaitOutcome =
  /** The order reached the point, or ended: its view then. */
  | { kind: 'reached'; view: OrderView }
  /** The wait ran out (or its caller went away) first; the order goes on regardless. */
  | { kind: 'waiting' }
  /** No run of the order is open: it has closed (it is never started again), or there is none. */
  | { kind: 'closed' };

export interface WaitOptions {
  /** How long the caller waits: the workflow answers the update when it is up, whatever it got to. */
  withinMs: number;
  /** Ends the wait early: its caller went away. */
  signal?: AbortSignal;
  /**
   * Starts the order's workflow with the update when it has no run yet (update-with-start); an open
   * run takes the update as it is. Refused, as every start of an order is, once a run has closed.
   */
  start?: {
    taskQueue: string;
    settings: OrderWorkflowSettings;
    order: OrderRequest;
    /** True when the caller has written the order's row already (the API): the run skips it. */
    recorded: boolean;
  };
}

/**
 * How long past its own time a wait waits for the workflow's answer to it: the workflow's timer fires
 * on the server's clock, and its answer still has to travel.
 */
const ANSWER_GRACE_MS = 2_000;

export async function waitOnOrderWorkflow(
  temporal: Client,
  workflowId: string,
  until: WaitPoint,
  { withinMs, signal, start }: WaitOptions,
): Promise<WaitOutcome> {
  const args: [WaitForRequest] = [{ until, withinMs }];
  const update = (): Promise<OrderView> =>
    start
      ? temporal.workflow.executeUpdateWithStart(waitForUpdate, {
          args,
          startWorkflowOperation: new WithStartWorkflowOperation(ORDER_WORKFLOW_TYPE, {
            ...orderStartOptions(start.taskQueue, start.settings, start.order, start.recorded),
            workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          }),
        })
      : temporal.workflow.getHandle(workflowId).executeUpdate(waitForUpdate, { args });
  const ends = AbortSignal.any([
    AbortSignal.timeout(withinMs + ANSWER_GRACE_MS),
    ...(signal ? [signal] : []),
  ]);
  if (ends.aborted) return { kind: 'waiting' };
  const answer = temporal
    // The deadline also ends the retries the client makes of a refused call (a run takes at most 10
    // updates in flight), which the abort alone does not.
    .withDeadline(Date.now() + withinMs + ANSWER_GRACE_MS, () =>
      temporal.withAbortSignal(ends, update),
    )
    .then(
      (view): WaitOutcome =>
        hasReached(until, view) ? { kind: 'reached', view } : { kind: 'waiting' },
      (err: unknown): WaitOutcome => {
        if (ends.aborted || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)
          return { kind: 'waiting' };
        if (closedRun(err)) return { kind: 'closed' };
        throw err;
      },
    );
  // The wait ends with its time or its caller whatever the call is doing (retrying, say).
  const ended = new Promise<WaitOutcome>((resolve) =>
    ends.addEventListener('abort', () => resolve({ kind: 'waiting' }), { once: true }),
  );
  answer.catch(() => undefined); // a call that fails after the wait ended is no one's to hear
  return Promise.race([answer, ended]);
}

/**
 * A wait on an order whose run has closed: an update finds no open run ("workflow execution already
 * completed"), and the start of an update-with-start is refused by the id reuse policy.
 */
const closedRun = (err: unknown): boolean =>
  err instanceof WorkflowNotFoundError || err instanceof WorkflowExecutionAlreadyStartedError;
