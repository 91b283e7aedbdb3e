import { Client } from '@temporalio/client';
import type { Connection } from '@temporalio/client';
import { loadConfig } from '../platform/config';
import { connectTemporal, temporalDataConverter } from '../platform/temporal/connection';
import { personalDataFor } from '../platform/security/configured-data-keys';
import type { PersonalData } from '../platform/security/personal-data';
import { describeIssues, orderRequestSchema } from '../domain/schemas';
import type { OrderRequestBody } from '../domain/schemas';
import type { OrderRequest, OrderView } from '../domain/types';
import {
  cancelOrderWorkflow,
  orderView,
  reconcileOrderWorkflow,
  startOrderWorkflow,
} from '../orders/order-workflow';
import { waitOnOrderWorkflow } from '../orders/order-waits';
import { workflowIdFor } from '../../workflows/definitions';
import type { WaitPoint } from '../domain/wait-points';
import type { OrderWorkflowSettings } from '../../workflows/order-input';

export type { OrderRequest, OrderView, OrderWorkflowSettings, WaitPoint };

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
  /**
   * The payload keys, as `id:base64-32-bytes[,id:…]` (the first encrypts; the Temporal worker must know
   * it). Default: the local stack's key from `.shipshape/secrets.json`.
   */
  payloadKeys?: string;
  /**
   * The data keys that seal an order's address and payment method before it leaves this process, as
   * `id:base64-32-bytes[,id:…]` (the first seals; the shipping service must know it). Default: the
   * local stack's key.
   */
  dataKeys?: string;
  /** TLS to a remote Temporal: PEM files of the client certificate and key (mTLS), the CA, the server name. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string; serverName?: string };
  /** Temporal Cloud API key. */
  apiKey?: string;
  /** Step timeouts and re-send counts for orders this client starts. Default: Shipshape's defaults. */
  workflowSettings?: Partial<OrderWorkflowSettings>;
}

/**
 * Places, reads, cancels and reconciles orders straight through Temporal, for services that
 * would rather not go through the HTTP API. The same id policy as the API: workflow `order-<orderId>`,
 * one run per order ever, so placing the same order twice starts nothing new. An order that waits for
 * an operator is resolved through the API (`POST /orders/:id/resolve`), which signs the answer.
 */
export class ShipshapeClient {
  private constructor(
    private readonly temporal: Client,
    private readonly taskQueue: string,
    private readonly settings: OrderWorkflowSettings,
    private readonly ownsConnection: boolean,
    private readonly personal: PersonalData,
  ) {}

  static async connect(opts: ShipshapeClientOptions = {}): Promise<ShipshapeClient> {
    // The documented defaults and these options, not this process's environment.
    const defaults = loadConfig({
      ...(opts.address ? { TEMPORAL_ADDRESS: opts.address } : {}),
      ...(opts.namespace ? { TEMPORAL_NAMESPACE: opts.namespace } : {}),
      ...(opts.payloadKeys ? { SHIPSHAPE_PAYLOAD_KEYS: opts.payloadKeys } : {}),
      ...(opts.dataKeys ? { SHIPSHAPE_DATA_KEYS: opts.dataKeys } : {}),
      TEMPORAL_TLS_CERT: opts.tls?.certFile,
      TEMPORAL_TLS_KEY: opts.tls?.keyFile,
      TEMPORAL_TLS_CA: opts.tls?.caFile,
      TEMPORAL_TLS_SERVER_NAME: opts.tls?.serverName,
      TEMPORAL_API_KEY: opts.apiKey,
    });
    const dataConverter = temporalDataConverter(defaults);
    const connection = opts.connection ?? (await connectTemporal(defaults, 'cli'));
    const client = new Client({
      connection,
      namespace: defaults.temporal.namespace,
      dataConverter,
    });
    return new ShipshapeClient(
      client,
      opts.taskQueue ?? defaults.temporal.taskQueue,
      { ...defaults.workflow, ...opts.workflowSettings },
      !opts.connection,
      personalDataFor(defaults),
    );
  }

  /**
   * Starts the order's workflow. `created` is false when the order was placed before (nothing new
   * starts). With `wait`, then waits until the order reaches that point or ends (`view`: its state then;
   * a declined card ends it FAILED), for at most `waitMs` (10 s by default): `view` is absent when the
   * wait ran out first, and the order goes on either way. An order placed before and ended answers its
   * final view; it is never started again.
   */
  async placeOrder(
    order: OrderRequestBody & { orderId: string },
    opts: { wait?: WaitPoint; waitMs?: number } = {},
  ): Promise<{ orderId: string; workflowId: string; created: boolean; view?: OrderView }> {
    const parsed = orderRequestSchema.safeParse(order);
    if (!parsed.success) throw new InvalidOrderError(describeIssues(parsed.error));
    // Sealed before it leaves this process: the address is opened by the shipping service only.
    const request: OrderRequest = this.personal.sealOrder({
      ...parsed.data,
      orderId: order.orderId,
    });
    const created = await startOrderWorkflow(this.temporal, this.taskQueue, this.settings, request);
    const workflowId = workflowIdFor(order.orderId);
    const placed = { orderId: order.orderId, workflowId, created };
    if (!opts.wait) return placed;
    const waited = await waitOnOrderWorkflow(this.temporal, workflowId, opts.wait, {
      withinMs: opts.waitMs ?? 10_000,
    });
    const view =
      waited.kind === 'reached'
        ? waited.view
        : waited.kind === 'closed'
          ? await this.getOrder(order.orderId).catch(() => undefined)
          : undefined;
    return { ...placed, ...(view ? { view } : {}) };
  }

  /** The order's state: live while its workflow runs, its final state after. Undefined for an unknown order. */
  getOrder(orderId: string): Promise<OrderView | undefined> {
    return orderView(this.temporal, workflowIdFor(orderId));
  }

  /** Asks the order to cancel; `accepted` is false (with the reason) once the shipment is with the carrier. */
  async cancelOrder(
    orderId: string,
    reason?: string,
  ): Promise<{ accepted: boolean; reason?: string }> {
    const answer = await cancelOrderWorkflow(
      this.temporal,
      workflowIdFor(orderId),
      reason ?? 'cancelled on request',
    );
    return answer ?? { accepted: false, reason: 'no running order with this id' };
  }

  /** Signals the order to re-check the step it waits on. A finished or unknown order is left alone (false). */
  reconcileOrder(orderId: string, reason?: string): Promise<boolean> {
    return reconcileOrderWorkflow(this.temporal, workflowIdFor(orderId), reason ?? 'requested');
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.temporal.connection.close();
  }
}
