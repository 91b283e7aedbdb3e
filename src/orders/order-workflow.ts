import type { Client, WorkflowStartOptions } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { orderTotalCents } from '../domain/orders';
import type { OrderRequest, OrderView } from '../domain/types';
import {
  cancelUpdate,
  CustomerIdKey,
  ORDER_WORKFLOW_TYPE,
  orderStateQuery,
  OrderProgressAtKey,
  OrderStatusKey,
  OrderTotalCentsKey,
  reconcileSignal,
  resolveSignal,
  workflowIdFor,
} from '../../workflows/definitions';
import type { OrderWorkflowSettings } from '../../workflows/order-input';

/**
 * Talking to an order's workflow: start it, read it, cancel, reconcile and resolve it. The API's
 * OrderService and the client library for other services both go through these.
 */

/**
 * Starts `order-<orderId>`, one run per order ever: a second start is refused even after the first run
 * closed. Resolves false when the order's workflow already exists. Used by the API and the client library.
 */
export async function startOrderWorkflow(
  temporal: Client,
  taskQueue: string,
  settings: OrderWorkflowSettings,
  order: OrderRequest,
  /** True when the caller has written the order's row already, so the workflow need not. */
  recorded = false,
): Promise<boolean> {
  try {
    await temporal.workflow.start(ORDER_WORKFLOW_TYPE, {
      ...orderStartOptions(taskQueue, settings, order, recorded),
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/**
 * How an order's workflow is started, by a start or with an update (order-waits.ts): `order-<orderId>`,
 * and never again once a run of it has closed (REJECT_DUPLICATE).
 */
export function orderStartOptions(
  taskQueue: string,
  settings: OrderWorkflowSettings,
  order: OrderRequest,
  recorded: boolean,
) {
  const totalCents = orderTotalCents(order);
  return {
    taskQueue,
    workflowId: workflowIdFor(order.orderId),
    args: [{ order, settings, ...(recorded ? { recorded } : {}) }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    // Kept in clear by Temporal (indexed, never through the payload codec), as is the workflow id:
    // only opaque ids (order and customer ids are limited to letters, digits, "_", "-", "."),
    // status, total and time. Never an address, a name or a payment reference. The memo is encrypted.
    typedSearchAttributes: [
      { key: OrderStatusKey, value: 'PENDING' },
      { key: CustomerIdKey, value: order.customerId },
      { key: OrderTotalCentsKey, value: totalCents },
      { key: OrderProgressAtKey, value: new Date() },
    ],
    memo: {
      summary: `${order.items.length} item(s), ${totalCents} ${order.currency} cents, customer ${order.customerId}`,
    },
  } satisfies WorkflowStartOptions;
}

/** The order's live view from its running workflow; undefined if no worker answers by `deadline`. */
export async function queryOrder(
  temporal: Client,
  workflowId: string,
  timeoutMs = 5_000,
): Promise<OrderView | undefined> {
  try {
    return await temporal.withDeadline(Date.now() + timeoutMs, () =>
      temporal.workflow.getHandle(workflowId).query(orderStateQuery),
    );
  } catch {
    return undefined;
  }
}

/** The order's view: live while its workflow runs, its result after. Undefined for an unknown order. */
export async function orderView(
  temporal: Client,
  workflowId: string,
): Promise<OrderView | undefined> {
  const handle = temporal.workflow.getHandle<(input: unknown) => Promise<OrderView>>(workflowId);
  try {
    const d = await handle.describe();
    return d.status.name === 'RUNNING'
      ? await handle.query(orderStateQuery)
      : await handle.result();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Asks the order to cancel, through its `cancel` update: the answer says at once whether it could be
 * (not once the carrier has the shipment). Undefined when no run of it is open any more.
 */
export async function cancelOrderWorkflow(
  temporal: Client,
  workflowId: string,
  reason: string,
): Promise<{ accepted: boolean; reason?: string } | undefined> {
  try {
    return await temporal.workflow
      .getHandle(workflowId)
      .executeUpdate(cancelUpdate, { args: [{ reason }] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Signals the order to re-check the step it waits on. False when no run of it is open any more. */
export function reconcileOrderWorkflow(
  temporal: Client,
  workflowId: string,
  reason: string,
): Promise<boolean> {
  return signalled(temporal.workflow.getHandle(workflowId).signal(reconcileSignal, { reason }));
}

/**
 * An operator's answer to NEEDS_ATTENTION, for this workflow only. The workflow takes it only when the
 * API signed it (`temporal` is the API's client). False when no run of the order is open any more.
 */
export function resolveOrderWorkflow(
  temporal: Client,
  workflowId: string,
  action: 'retry' | 'give-up',
  reason?: string,
): Promise<boolean> {
  return signalled(
    temporal.workflow
      .getHandle(workflowId)
      .signal(resolveSignal, { action, workflowId, ...(reason ? { reason } : {}) }),
  );
}

async function signalled(sent: Promise<void>): Promise<boolean> {
  try {
    await sent;
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
