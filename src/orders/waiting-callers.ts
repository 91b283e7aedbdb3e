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
 * The answer for a caller who placed an order and asked to wait: `reached`, the order's details once
 * it reached the point or ended; absent when the wait ran out first (the caller then gets the
 * placement's 202). `ran`: the order's run is known to have begun (it answered, or it has closed).
 * The order's row is committed before this runs, and its start is queued after it unless the run is
 * known to have begun, so a wait cut short, or a caller who goes away, changes nothing for the order.
 *
 * A new order's run is started with the wait (update-with-start); one started already takes it as it
 * is. An order that has ended is answered from its record, and no wait ever starts a run again: every
 * start of an order is refused once a run of it has closed (order-workflow.ts).
 */
export async function answerWhenReached(
  deps: { temporal: Client; pool: Pool; config: Config },
  placed: Placed,
  { until, withinMs, signal }: WaitFor,
): Promise<{ reached?: OrderDetails; ran: boolean }> {
  const { temporal, pool, config } = deps;
  const { orderId, workflowId, status } = placed.order;
  const details = async (view?: OrderView) => {
    const row = await findOrder(pool, orderId);
    return row && orderDetails(config, row, view);
  };
  const answer = (reached: OrderDetails | undefined, ran: boolean) => ({
    ...(reached ? { reached } : {}),
    ran,
  });
  if (isTerminal(status)) return answer(await details(), true);
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
  if (outcome.kind === 'reached') return answer(await details(outcome.view), true);
  if (outcome.kind === 'waiting') return answer(undefined, false);
  // The run closed meanwhile: its record says how the order ended, unless its cleanup is still to come.
  const ended = await details();
  return answer(ended && isTerminal(ended.status) ? ended : undefined, true);
}
