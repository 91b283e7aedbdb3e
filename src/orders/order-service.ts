import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { queryOrder, startOrderWorkflow } from './order-workflow';
import { isTerminal, orderTotalCents } from '../domain/orders';
import type { Pool } from 'pg';
import type { Config } from '../platform/config';
import type { OrderRequestBody } from '../domain/schemas';
import type { OrderRequest, OrderStatus, OrderView } from '../domain/types';
import { cleanupWorkflowIdFor, workflowIdFor } from '../../workflows/definitions';
import {
  findOrder,
  findOrderByIdempotencyKey,
  loadOrderRequest,
  markWorkflowsStarted,
} from './order-store';
import type { OrderRow } from './order-store';
import { orderDetails, orderSummary } from './order-views';
import { cancelOrder, reconcileOrder, resolveOrder } from './order-actions';
import type { ActionResult, OrderAccess } from './order-actions';
import { answerWhenReached } from './waiting-callers';
import type { Placed, WaitFor } from './waiting-callers';
import type { OrderDetails, OrderSummary } from './order-views';
import { WorkflowStarter } from './workflow-starter';
import { BatchedOrderInserts } from './batched-order-inserts';
import type { Logger } from '../platform/logger';
import { openRunsOnly } from '../platform/temporal/client';
import { personalDataFor } from '../platform/security/configured-data-keys';
import type { PersonalData } from '../platform/security/personal-data';

export type { OrderDetails, OrderSummary } from './order-views';
export type { ActionResult } from './order-actions';

/**
 * Places (and waits on), reads, cancels and reconciles orders straight through Temporal and the
 * orders table. The API uses it, and so can any other service.
 */
export class OrderService implements OrderAccess {
  /**
   * With `deferStarts` (the API), `place` answers once the order's row is committed and this starter
   * starts the workflow right after; without, `place` starts the workflow before it answers.
   */
  readonly starter: WorkflowStarter | undefined;
  private readonly inserts: BatchedOrderInserts;
  /** Reads live views from open runs only (see liveView). */
  private readonly openRuns: Client;
  /** The data keys, read when the first order is placed: a reconciler that places none needs none. */
  private sealer: PersonalData | undefined;
  private personalData(): PersonalData {
    return (this.sealer ??= personalDataFor(this.config));
  }

  constructor(
    readonly temporal: Client,
    readonly pool: Pool,
    readonly config: Config,
    opts: { deferStarts?: Logger } = {},
  ) {
    this.starter = opts.deferStarts
      ? new WorkflowStarter({
          start: (o) => this.startWorkflow(o),
          pool,
          log: opts.deferStarts,
        })
      : undefined;
    this.inserts = new BatchedOrderInserts(pool);
    this.openRuns = openRunsOnly(temporal);
  }

  private summary(orderId: string, workflowId: string, status: OrderStatus): OrderSummary {
    return orderSummary(this.config, orderId, workflowId, status);
  }

  /**
   * Accepts an order and starts its workflow `order-<orderId>` (now, or through the starter once the row
   * is committed). The same orderId or Idempotency-Key again returns the existing order and starts
   * nothing new, also after the first run has finished.
   */
  async place(body: OrderRequestBody, idempotencyKey?: string): Promise<Omit<Placed, 'request'>> {
    const { order, created } = await this.placing(body, idempotencyKey);
    return { order, created };
  }

  /**
   * Places the order as `place` does, then waits until it reaches `wait.until` or ends, for at most
   * `wait.withinMs` and while its caller stays (waiting-callers.ts). `reached`: the order's details
   * then; absent when the wait ran out first.
   */
  async placeAndWait(
    body: OrderRequestBody,
    idempotencyKey: string | undefined,
    wait: WaitFor,
  ): Promise<Omit<Placed, 'request'> & { reached?: OrderDetails }> {
    // The wait starts a new order's run (update-with-start): the starter's start, racing it, would
    // cost the run a workflow task. It is queued after, unless the run is known to have begun.
    const placed = await this.placing(body, idempotencyKey, { startedByWait: true });
    let ran = false;
    try {
      const answer = await answerWhenReached(this, placed, wait);
      ran = answer.ran;
      return {
        order: placed.order,
        created: placed.created,
        ...(answer.reached ? { reached: answer.reached } : {}),
      };
    } finally {
      if (placed.request && this.starter) {
        if (ran) this.starter.markStarted(placed.request.orderId);
        else this.starter.enqueue(placed.request);
      }
    }
  }

  private placing(
    body: OrderRequestBody,
    idempotencyKey?: string,
    opts: { startedByWait?: boolean } = {},
  ): Promise<Placed> {
    // While orders are being placed, the starter holds back: answering comes first.
    const place = () => this.placeNow(body, idempotencyKey, opts);
    return this.starter ? this.starter.whileAccepting(place) : place();
  }

  private async placeNow(
    body: OrderRequestBody,
    idempotencyKey: string | undefined,
    { startedByWait = false }: { startedByWait?: boolean },
  ): Promise<Placed> {
    if (idempotencyKey) {
      const known = await findOrderByIdempotencyKey(this.pool, idempotencyKey);
      if (known) return { order: await this.resume(known), created: false };
    }
    // The address and payment method are sealed here, before anything keeps them.
    const order = this.personalData().sealOrder({
      orderId: body.orderId ?? randomUUID(),
      customerId: body.customerId,
      items: body.items,
      currency: body.currency,
      shippingAddress: body.shippingAddress,
      ...(body.paymentMethod ? { paymentMethod: body.paymentMethod } : {}),
    });
    const workflowId = workflowIdFor(order.orderId);
    const totalCents = orderTotalCents(order);
    const inserted = await this.inserts.insert({
      order,
      workflowId,
      totalCents,
      idempotencyKey,
      startPending: this.starter !== undefined,
    });
    if (!inserted) {
      const existing =
        (await findOrder(this.pool, order.orderId)) ??
        (idempotencyKey ? await findOrderByIdempotencyKey(this.pool, idempotencyKey) : undefined);
      if (!existing) throw new Error(`order ${order.orderId} conflicted but cannot be found`);
      return { order: await this.resume(existing), created: false };
    }
    if (!this.starter) await this.start(order);
    else if (!startedByWait) this.starter.enqueue(order);
    return {
      order: this.summary(order.orderId, workflowId, 'PENDING'),
      created: true,
      request: order,
    };
  }

  /** A known order that never reached a final state is (re)started: covers a crash between insert and start. */
  private async resume(row: OrderRow): Promise<OrderSummary> {
    if (isTerminal(row.status)) return this.summary(row.orderId, row.workflowId, row.status);
    await this.startFromRow(row);
    // The same answer GET gives: the workflow's live status while it runs.
    const view = await this.liveView(row.workflowId);
    return this.summary(row.orderId, row.workflowId, view?.status ?? row.status);
  }

  /** Starts the workflow of an order whose row is written (so the workflow need not write it). Idempotent. */
  private startWorkflow(order: OrderRequest): Promise<boolean> {
    return startOrderWorkflow(
      this.temporal,
      this.config.temporal.taskQueue,
      this.config.workflow,
      order,
      true,
    );
  }

  /** Starts a recorded order's workflow now; only the API (which defers starts) marks it started. */
  private async start(order: OrderRequest): Promise<void> {
    await this.startWorkflow(order);
    // Elsewhere the role may not write the flag; the API's sweep corrects it.
    if (this.starter) await markWorkflowsStarted(this.pool, [order.orderId]);
  }

  private async startFromRow(row: OrderRow): Promise<void> {
    const request = await loadOrderRequest(this.pool, row.orderId);
    if (request) await this.start(request);
  }

  /** An accepted order whose start is still queued gets it now: what follows talks to its workflow. */
  async startedFor(row: OrderRow): Promise<void> {
    if (row.startPending) await this.startFromRow(row);
  }

  /** The order's live state from its workflow while it runs, else what the orders table recorded. */
  async get(orderId: string): Promise<OrderDetails | undefined> {
    const row = await findOrder(this.pool, orderId);
    if (!row) return undefined;
    const view = isTerminal(row.status) ? undefined : (await this.running(row))?.view;
    return orderDetails(this.config, row, view);
  }

  /**
   * The running workflow's view; undefined when no worker answers right now, or when its latest run is
   * closed (its view stopped where the run stopped): the table then serves.
   */
  liveView(workflowId: string): Promise<OrderView | undefined> {
    return queryOrder(this.openRuns, workflowId);
  }

  /**
   * The workflow that acts on the order now and its view: the order's run while it is open, else the
   * cleanup of a run that closed unfinished (undefined when neither answers).
   */
  async running(row: OrderRow): Promise<{ workflowId: string; view: OrderView } | undefined> {
    for (const workflowId of [row.workflowId, cleanupWorkflowIdFor(row.orderId)]) {
      const view = await this.liveView(workflowId);
      if (view) return { workflowId, view };
    }
    return undefined;
  }

  /** Asks the order to cancel (order-actions.ts). */
  cancel(orderId: string, reason?: string): Promise<ActionResult> {
    return cancelOrder(this, orderId, reason);
  }

  /** Signals the order to re-check the step it waits on (order-actions.ts). */
  reconcile(
    orderId: string,
    reason?: string,
  ): Promise<Exclude<ActionResult, { kind: 'conflict' }>> {
    return reconcileOrder(this, orderId, reason);
  }

  /** An operator's answer to NEEDS_ATTENTION (order-actions.ts). */
  resolve(orderId: string, action: 'retry' | 'give-up', reason?: string): Promise<ActionResult> {
    return resolveOrder(this, orderId, action, reason);
  }

  /**
   * For the reconciler: an accepted order that never reached a final state gets its workflow started if
   * it has none (the API stopped between recording the order and starting it). True if one was started.
   */
  async ensureStarted(orderId: string): Promise<boolean> {
    const row = await findOrder(this.pool, orderId);
    if (!row || isTerminal(row.status)) return false;
    try {
      await this.temporal.workflow.getHandle(row.workflowId).describe();
      return false;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    await this.resume(row);
    return true;
  }
}
