import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { isTerminal } from '../domain/orders';
import type { OrderRequest, OrderView } from '../domain/types';
import type { WaitPoint } from '../domain/wait-points';
import type { Config } from '../platform/config';
import { findOrder } from './order-store';
import { waitOnOrderWorkflow } from './order-waits';
import { orderDetails } from './order-views';
import type { OrderDetails, OrderSummary } from './order-views';

/** What a caller of `POST /orders` waits for, how long, and its going away (`signal`). */
export interface WaitFor {
  until: WaitPoint;
  withinMs: number;
  signal?: AbortSignal;
}

/** An order just placed: `request` (as sealed) when this placement created it. */
export interface Placed {
  order: OrderSummary;
  created: boolean;
  request?: OrderRequest;
}

/**
 * The answer for a caller who placed an order and asked to wait: the order's details once it reached
 * the point or ended; undefined when the wait ran out first (the caller then gets the placement's 202).
 * The order's row is committed before this runs, and its start queued as for any order, so a wait that
 * is cut short, or a caller who goes away, changes nothing about the order.
 *
 * A new order's run is started with the wait (update-with-start); one started already takes it as it
 * is. An order that has ended is answered from its record, and no wait ever starts a run again: every
 * start of an order is refused once a run of it has closed (order-workflow.ts).
 */
export async function answerWhenReached(
  deps: { temporal: Client; pool: Pool; config: Config },
  placed: Placed,
  { until, withinMs, signal }: WaitFor,
): Promise<OrderDetails | undefined> {
  const { temporal, pool, config } = deps;
  const { orderId, workflowId, status } = placed.order;
  const details = async (view?: OrderView) => {
    const row = await findOrder(pool, orderId);
    return row && orderDetails(config, row, view);
  };
  if (isTerminal(status)) return details();
  const { request } = placed;
  const outcome = await waitOnOrderWorkflow(temporal, workflowId, until, {
    withinMs,
    ...(signal ? { signal } : {}),
    ...(request
      ? {
          start: {
            taskQueue: config.temporal.taskQueue,
            settings: config.workflow,
            order: request,
            recorded: true,
          },
        }
      : {}),
  });
  if (outcome.kind === 'reached') return details(outcome.view);
  if (outcome.kind === 'waiting') return undefined;
  // The run closed meanwhile: its record says how the order ended, unless its cleanup is still to come.
  const ended = await details();
  return ended && isTerminal(ended.status) ? ended : undefined;
}
