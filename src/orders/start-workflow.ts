import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { orderTotalCents } from '../domain/orders';
import type { OrderRequest } from '../domain/types';
import {
  CustomerIdKey,
  ORDER_WORKFLOW_TYPE,
  OrderProgressAtKey,
  OrderStatusKey,
  OrderTotalCentsKey,
  workflowIdFor,
} from '../../workflows/definitions';
import type { OrderWorkflowSettings } from '../../workflows/order-input';

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
  const totalCents = orderTotalCents(order);
  try {
    await temporal.workflow.start(ORDER_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: workflowIdFor(order.orderId),
      args: [{ order, settings, ...(recorded ? { recorded } : {}) }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
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
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
