import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'pg';
import { isTerminal } from '../domain/orders';
import type { OrderStatus, OrderView } from '../domain/types';
import type { Config } from '../platform/config';
import { findOrder, resolveMarkedOrder } from './order-store';
import type { OrderRow } from './order-store';
import { orderSummary } from './order-views';
import type { OrderSummary } from './order-views';
import {
  cancelOrderWorkflow,
  reconcileOrderWorkflow,
  resolveOrderWorkflow,
} from './order-workflow';

/** The operator's actions on a placed order: cancel, reconcile, and resolve NEEDS_ATTENTION. */

export type ActionResult =
  | { kind: 'accepted'; order: OrderSummary }
  | { kind: 'not_found' }
  | { kind: 'conflict'; reason: string; status: OrderStatus };

/** What the actions need of the order service (OrderService). */
export interface OrderAccess {
  readonly temporal: Client;
  readonly pool: Pool;
  readonly config: Config;
  /** An accepted order whose start is still queued gets it now: what follows talks to its workflow. */
  startedFor(row: OrderRow): Promise<void>;
  /** The open run's view; undefined when no worker answers, or its latest run is closed. */
  liveView(workflowId: string): Promise<OrderView | undefined>;
  /** The workflow that acts on the order now (its run, else the cleanup of a closed run) and its view. */
  running(row: OrderRow): Promise<{ workflowId: string; view: OrderView } | undefined>;
}

/** Cancels through the workflow's `cancel` update, which answers whether the order could still be cancelled. */
export async function cancelOrder(
  orders: OrderAccess,
  orderId: string,
  reason?: string,
): Promise<ActionResult> {
  const row = await findOrder(orders.pool, orderId);
  if (!row) return { kind: 'not_found' };
  if (isTerminal(row.status)) {
    return { kind: 'conflict', reason: `the order is already ${row.status}`, status: row.status };
  }
  await orders.startedFor(row);
  const answer = await cancelOrderWorkflow(
    orders.temporal,
    row.workflowId,
    reason ?? 'cancelled on request',
  );
  if (!answer) {
    const now = (await findOrder(orders.pool, orderId)) ?? row;
    return { kind: 'conflict', reason: 'the order has finished', status: now.status };
  }
  const view = await orders.liveView(row.workflowId);
  const status = view?.status ?? row.status;
  if (!answer.accepted) return { kind: 'conflict', reason: answer.reason ?? 'refused', status };
  return {
    kind: 'accepted',
    order: orderSummary(orders.config, row.orderId, row.workflowId, status),
  };
}

/** Signals the order's workflow to re-check the step it waits on; an order that has ended is left as it is. */
export async function reconcileOrder(
  orders: OrderAccess,
  orderId: string,
  reason?: string,
): Promise<Exclude<ActionResult, { kind: 'conflict' }>> {
  const row = await findOrder(orders.pool, orderId);
  if (!row) return { kind: 'not_found' };
  if (isTerminal(row.status))
    return {
      kind: 'accepted',
      order: orderSummary(orders.config, row.orderId, row.workflowId, row.status),
    };
  await orders.startedFor(row);
  await reconcileOrderWorkflow(orders.temporal, row.workflowId, reason ?? 'requested');
  return {
    kind: 'accepted',
    order: orderSummary(orders.config, row.orderId, row.workflowId, row.status),
  };
}

/** An operator's answer to NEEDS_ATTENTION: retry the failing step, or give it up. */
export async function resolveOrder(
  orders: OrderAccess,
  orderId: string,
  action: 'retry' | 'give-up',
  reason?: string,
): Promise<ActionResult> {
  const row = await findOrder(orders.pool, orderId);
  if (!row) return { kind: 'not_found' };
  const live = isTerminal(row.status) ? undefined : await orders.running(row);
  if (!live && row.status === 'NEEDS_ATTENTION') return resolveMarked(orders, row, action, reason);
  if (live?.view.status !== 'NEEDS_ATTENTION') {
    const status = live?.view.status ?? row.status;
    return { kind: 'conflict', reason: `the order is ${status}, not NEEDS_ATTENTION`, status };
  }
  // The order's run, or the cleanup of one that closed unfinished: whichever waits.
  await resolveOrderWorkflow(orders.temporal, live.workflowId, action, reason);
  return {
    kind: 'accepted',
    order: orderSummary(orders.config, row.orderId, row.workflowId, live.view.status),
  };
}

/**
 * The answer to an order the reconciler marked NEEDS_ATTENTION, whose latest run is closed or gone
 * (its cleanups gave up, or it aged out of Temporal). `retry` clears the mark and the count of
 * cleanups, so the reconciler's next round starts its cleanup again; `give-up` ends it FAILED, and
 * what its services still hold is the operator's to settle: the reconciler never undoes it.
 */
async function resolveMarked(
  orders: OrderAccess,
  row: OrderRow,
  action: 'retry' | 'give-up',
  reason: string | undefined,
): Promise<ActionResult> {
  const open = await orders.temporal.workflow
    .getHandle(row.workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    });
  if (open)
    return {
      kind: 'conflict',
      reason:
        'its run is open but does not answer (its workflow tasks fail): deploy a fix and reset the run, or resolve it once it answers',
      status: row.status,
    };
  const status = await resolveMarkedOrder(orders.pool, row.orderId, action, reason);
  return {
    kind: 'accepted',
    order: orderSummary(orders.config, row.orderId, row.workflowId, status),
  };
}
