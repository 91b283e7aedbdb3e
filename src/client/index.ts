import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig } from '../config';
import { describeIssues, orderRequestSchema } from '../domain/schemas';
import type { OrderRequestBody } from '../domain/schemas';
import type { OrderRequest, OrderView } from '../domain/types';
import { startOrderWorkflow } from '../orders/start-workflow';
import {
  cancelUpdate,
  orderStateQuery,
  reconcileSignal,
  resolveSignal,
  workflowIdFor,
} from '../../workflows/definitions';
import type { OrderWorkflowSettings } from '../../workflows/order-fulfillment';

export type { OrderRequest, OrderView, OrderWorkflowSettings };

/** The order failed validation; `issues` names each bad field. */
export class InvalidOrderError extends Error {
  override name = 'InvalidOrderError';
  constructor(readonly issues: { field: string; message: string }[]) {
    super(`invalid order: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

export interface ShipshapeClientOptions {
  /** Temporal frontend, e.g. "temporal:7233". Default: the local stack's. */
  address?: string;
  namespace?: string;
  taskQueue?: string;
  /** Use an existing connection instead (it is not closed by `close`). */
  connection?: Connection;
  /** Step timeouts and re-send counts for orders this client starts. Default: Shipshape's defaults. */
  workflowSettings?: Partial<OrderWorkflowSettings>;
}

/**
 * Places, reads, cancels, reconciles and resolves orders straight through Temporal, for services that
 * would rather not go through the HTTP API. The same id policy as the API: workflow `order-<orderId>`,
 * one run per order ever, so placing the same order twice starts nothing new.
 */
export class ShipshapeClient {
  private constructor(
    private readonly temporal: Client,
    private readonly taskQueue: string,
    private readonly settings: OrderWorkflowSettings,
    private readonly ownsConnection: boolean,
  ) {}

  static async connect(opts: ShipshapeClientOptions = {}): Promise<ShipshapeClient> {
    const defaults = loadConfig({}); // the documented defaults, not this process's environment
    const connection =
      opts.connection ??
      (await Connection.connect({ address: opts.address ?? defaults.temporal.address }));
    const client = new Client({
      connection,
      namespace: opts.namespace ?? defaults.temporal.namespace,
    });
    return new ShipshapeClient(
      client,
      opts.taskQueue ?? defaults.temporal.taskQueue,
      { ...defaults.workflow, ...opts.workflowSettings },
      !opts.connection,
    );
  }

  /** Starts the order's workflow. `created` is false when the order was placed before (nothing new starts). */
  async placeOrder(
    order: OrderRequestBody & { orderId: string },
  ): Promise<{ orderId: string; workflowId: string; created: boolean }> {
    const parsed = orderRequestSchema.safeParse(order);
    if (!parsed.success) throw new InvalidOrderError(describeIssues(parsed.error));
    const request: OrderRequest = { ...parsed.data, orderId: order.orderId };
    const created = await startOrderWorkflow(this.temporal, this.taskQueue, this.settings, request);
    return { orderId: order.orderId, workflowId: workflowIdFor(order.orderId), created };
  }

  /** The order's state: live while its workflow runs, its final state after. Undefined for an unknown order. */
  async getOrder(orderId: string): Promise<OrderView | undefined> {
    const handle = this.temporal.workflow.getHandle<(input: unknown) => Promise<OrderView>>(
      workflowIdFor(orderId),
    );
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

  /** Asks the order to cancel; `accepted` is false (with the reason) once the shipment is with the carrier. */
  async cancelOrder(
    orderId: string,
    reason?: string,
  ): Promise<{ accepted: boolean; reason?: string }> {
    try {
      return await this.temporal.workflow
        .getHandle(workflowIdFor(orderId))
        .executeUpdate(cancelUpdate, { args: [{ ...(reason ? { reason } : {}) }] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        return { accepted: false, reason: 'no running order with this id' };
      throw err;
    }
  }

  /** Signals the order to re-check the step it waits on. A finished or unknown order is left alone (false). */
  async reconcileOrder(orderId: string, reason?: string): Promise<boolean> {
    return this.signal(orderId, () =>
      this.temporal.workflow
        .getHandle(workflowIdFor(orderId))
        .signal(reconcileSignal, { ...(reason ? { reason } : {}) }),
    );
  }

  /** Answers an order in NEEDS_ATTENTION: retry the failing compensation, or give it up. */
  async resolveOrder(orderId: string, action: 'retry' | 'give-up'): Promise<boolean> {
    return this.signal(orderId, () =>
      this.temporal.workflow.getHandle(workflowIdFor(orderId)).signal(resolveSignal, { action }),
    );
  }

  private async signal(_orderId: string, send: () => Promise<void>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.temporal.connection.close();
  }
}
