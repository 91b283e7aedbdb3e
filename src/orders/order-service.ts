import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  cancelOrderWorkflow,
  queryOrder,
  reconcileOrderWorkflow,
  resolveOrderWorkflow,
  startOrderWorkflow,
} from './order-workflow';
import { isTerminal, orderTotalCents } from '../domain/orders';
import type { Pool } from 'pg';
import type { Config } from '../platform/config';
import { temporalUiLink } from '../platform/config';
import type { OrderRequestBody } from '../domain/schemas';
import type { OrderRequest, OrderStatus, OrderView, StepName, StepView } from '../domain/types';
import { cleanupWorkflowIdFor, workflowIdFor } from '../../workflows/definitions';
import {
  findOrder,
  findOrderByIdempotencyKey,
  loadOrderRequest,
  resolveMarkedOrder,
  markWorkflowsStarted,
} from './order-store';
import type { OrderRow } from './order-store';
import { WorkflowStarter } from './workflow-starter';
import { BatchedOrderInserts } from './batched-order-inserts';
import type { Logger } from '../platform/logger';
import { openRunsOnly } from '../platform/temporal/client';
import { personalDataFor } from '../platform/security/configured-data-keys';
import type { PersonalData } from '../platform/security/personal-data';

export interface OrderSummary {
  orderId: string;
  workflowId: string;
  status: OrderStatus;
  links: { self: string; cancel: string; reconcile: string; temporalUi: string };
}

export interface OrderDetails extends OrderSummary {
  customerId: string;
  totalCents: number;
  currency: string;
  steps: Record<StepName, StepView> | null;
  failureReason: string | null;
  /** Why the order waits for an operator, while its status is NEEDS_ATTENTION. */
  attention?: string;
  /** Inputs the running order refused (from its workflow's view). */
  rejectedInputs?: string[];
  createdAt: string;
  updatedAt: string;
}

export type ActionResult =
  | { kind: 'accepted'; order: OrderSummary }
  | { kind: 'not_found' }
  | { kind: 'conflict'; reason: string; status: OrderStatus };

/**
 * Places, reads, cancels and reconciles orders straight through Temporal and the orders table.
 * The API uses it, and so can any other service.
 */
export class OrderService {
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
    private readonly temporal: Client,
    private readonly pool: Pool,
    private readonly config: Config,
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
    const self = `/orders/${encodeURIComponent(orderId)}`;
    return {
      orderId,
      workflowId,
      status,
      links: {
        self,
        cancel: `${self}/cancel`,
        reconcile: `${self}/reconcile`,
        temporalUi: temporalUiLink(this.config, workflowId),
      },
    };
  }

  /**
   * Accepts an order and starts its workflow `order-<orderId>` (now, or through the starter once the row
   * is committed). The same orderId or Idempotency-Key again returns the existing order and starts
   * nothing new, also after the first run has finished.
   */
  async place(
    body: OrderRequestBody,
    idempotencyKey?: string,
  ): Promise<{ order: OrderSummary; created: boolean }> {
    // While orders are being placed, the starter holds back: answering comes first.
    const place = () => this.placeNow(body, idempotencyKey);
    return this.starter ? this.starter.whileAccepting(place) : place();
  }

  private async placeNow(
    body: OrderRequestBody,
    idempotencyKey?: string,
  ): Promise<{ order: OrderSummary; created: boolean }> {
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
    if (this.starter) this.starter.enqueue(order);
    else await this.start(order);
    return { order: this.summary(order.orderId, workflowId, 'PENDING'), created: true };
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
  private async startedFor(row: OrderRow): Promise<void> {
    if (row.startPending) await this.startFromRow(row);
  }

  /** The order's live state from its workflow while it runs, else what the orders table recorded. */
  async get(orderId: string): Promise<OrderDetails | undefined> {
    const row = await findOrder(this.pool, orderId);
    if (!row) return undefined;
    const view = isTerminal(row.status) ? undefined : (await this.running(row))?.view;
    const status = view?.status ?? row.status;
    const attention = view ? view.attention : (row.attention ?? undefined);
    return {
      ...this.summary(row.orderId, row.workflowId, status),
      customerId: row.customerId,
      totalCents: row.totalCents,
      currency: row.currency,
      steps: view?.steps ?? row.steps,
      failureReason: view?.failureReason ?? row.failureReason,
      ...(attention ? { attention } : {}),
      ...(view?.rejectedInputs ? { rejectedInputs: view.rejectedInputs } : {}),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  /**
   * The running workflow's view; undefined when no worker answers right now, or when its latest run is
   * closed (its view stopped where the run stopped): the table then serves.
   */
  private liveView(workflowId: string): Promise<OrderView | undefined> {
    return queryOrder(this.openRuns, workflowId);
  }

  /**
   * The workflow that acts on the order now and its view: the order's run while it is open, else the
   * cleanup of a run that closed unfinished (undefined when neither answers).
   */
  private async running(
    row: OrderRow,
  ): Promise<{ workflowId: string; view: OrderView } | undefined> {
    for (const workflowId of [row.workflowId, cleanupWorkflowIdFor(row.orderId)]) {
      const view = await this.liveView(workflowId);
      if (view) return { workflowId, view };
    }
    return undefined;
  }

  /** Cancels through the workflow's `cancel` update, which answers whether the order could still be cancelled. */
  async cancel(orderId: string, reason?: string): Promise<ActionResult> {
    const row = await findOrder(this.pool, orderId);
    if (!row) return { kind: 'not_found' };
    if (isTerminal(row.status)) {
      return { kind: 'conflict', reason: `the order is already ${row.status}`, status: row.status };
    }
    await this.startedFor(row);
    const answer = await cancelOrderWorkflow(
      this.temporal,
      row.workflowId,
      reason ?? 'cancelled on request',
    );
    if (!answer) {
      const now = (await findOrder(this.pool, orderId)) ?? row;
      return { kind: 'conflict', reason: 'the order has finished', status: now.status };
    }
    const view = await this.liveView(row.workflowId);
    const status = view?.status ?? row.status;
    if (!answer.accepted) return { kind: 'conflict', reason: answer.reason ?? 'refused', status };
    return { kind: 'accepted', order: this.summary(row.orderId, row.workflowId, status) };
  }

  /** Signals the order's workflow to re-check the step it waits on; an order that has ended is left as it is. */
  async reconcile(
    orderId: string,
    reason?: string,
  ): Promise<Exclude<ActionResult, { kind: 'conflict' }>> {
    const row = await findOrder(this.pool, orderId);
    if (!row) return { kind: 'not_found' };
    if (isTerminal(row.status))
      return { kind: 'accepted', order: this.summary(row.orderId, row.workflowId, row.status) };
    await this.startedFor(row);
    await reconcileOrderWorkflow(this.temporal, row.workflowId, reason ?? 'requested');
    return { kind: 'accepted', order: this.summary(row.orderId, row.workflowId, row.status) };
  }

  /** An operator's answer to NEEDS_ATTENTION: retry the failing step, or give it up. */
  async resolve(
    orderId: string,
    action: 'retry' | 'give-up',
    reason?: string,
  ): Promise<ActionResult> {
    const row = await findOrder(this.pool, orderId);
    if (!row) return { kind: 'not_found' };
    const live = isTerminal(row.status) ? undefined : await this.running(row);
    if (!live && row.status === 'NEEDS_ATTENTION') return this.resolveMarked(row, action, reason);
    if (live?.view.status !== 'NEEDS_ATTENTION') {
      const status = live?.view.status ?? row.status;
      return { kind: 'conflict', reason: `the order is ${status}, not NEEDS_ATTENTION`, status };
    }
    // The order's run, or the cleanup of one that closed unfinished: whichever waits.
    await resolveOrderWorkflow(this.temporal, live.workflowId, action, reason);
    return { kind: 'accepted', order: this.summary(row.orderId, row.workflowId, live.view.status) };
  }

  /**
   * The answer to an order the reconciler marked NEEDS_ATTENTION, whose latest run is closed or gone
   * (its cleanups gave up, or it aged out of Temporal). `retry` clears the mark and the count of
   * cleanups, so the reconciler's next round starts its cleanup again; `give-up` ends it FAILED, and
   * what its services still hold is the operator's to settle: the reconciler never undoes it.
   */
  private async resolveMarked(
    row: OrderRow,
    action: 'retry' | 'give-up',
    reason: string | undefined,
  ): Promise<ActionResult> {
    const open = await this.temporal.workflow
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
    const status = await resolveMarkedOrder(this.pool, row.orderId, action, reason);
    return { kind: 'accepted', order: this.summary(row.orderId, row.workflowId, status) };
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
