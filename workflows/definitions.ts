import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { OrderView, ReplyEnvelope } from '../src/domain/types';
import type { WaitPoint } from '../src/domain/wait-points';

/** Every signal, query and search attribute of the order workflow, in one place. */

/** A service's reply, delivered by the reply bridge. A reply id seen before is ignored. */
export const replySignal = defineSignal<[ReplyEnvelope]>('reply');
/** One of this order's commands was dead-lettered: the step it belongs to will get no reply. */
export const deadLetterSignal =
  defineSignal<[{ commandId: string; reason: string; deadLetterId: string }]>('deadLetter');
/**
 * Ask the order to stop and compensate what it did. An update, not a signal, so the caller learns at
 * once whether it was accepted: refused once the shipment is with the carrier or the order has ended.
 */
export const cancelUpdate = defineUpdate<
  { accepted: boolean; reason?: string },
  [{ reason?: string }]
>('cancel');
/**
 * Re-check the step the order waits on: its command is sent again at once with a fresh Nats-Msg-Id, so
 * the service answers from its record if the effect is there and makes it if not. Also "retry" for an
 * order that needs attention.
 */
export const reconcileSignal = defineSignal<[{ reason?: string }]>('reconcile');
/**
 * An operator's answer to NEEDS_ATTENTION: try the failing compensation again, or give it up. Taken
 * only as the API signs it, for the workflow it names.
 */
export const resolveSignal =
  defineSignal<[{ action: 'retry' | 'give-up'; workflowId: string; reason?: string }]>('resolve');
/**
 * Answers once the order has reached `until` (src/domain/wait-points.ts) or ended, or `withinMs` has
 * passed, with its view: what a caller who asked `POST /orders` to wait gets. A wait that names its
 * time ends with it, so a caller who gave up leaves nothing open in the run. It only reads, so it is
 * taken from anyone; an unknown point is refused before it is in the history.
 */
export const waitForUpdate = defineUpdate<OrderView, [WaitForRequest]>('waitFor');
export interface WaitForRequest {
  until: WaitPoint;
  withinMs?: number;
}
/** The order's current status and each step's state. */
export const orderStateQuery = defineQuery<OrderView>('orderState');

export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderTotalCentsKey = defineSearchAttributeKey(
  'OrderTotalCents',
  SearchAttributeType.INT,
);
/** When the order last moved (a status change or a command sent): the reconciler's measure of "stuck". */
export const OrderProgressAtKey = defineSearchAttributeKey(
  'OrderProgressAt',
  SearchAttributeType.DATETIME,
);

export const ORDER_WORKFLOW_TYPE = 'orderFulfillment';
/** Undoes what an order holds once its run closed unfinished (order-cleanup.ts). */
export const CLEANUP_WORKFLOW_TYPE = 'orderCleanup';

export const workflowIdFor = (orderId: string): string => `order-${orderId}`;
/** The cleanup of an order's effects: `cleanup-order-<orderId>`, never an order's own workflow id. */
export const cleanupWorkflowIdFor = (orderId: string): string =>
  `cleanup-${workflowIdFor(orderId)}`;
/** The order a workflow id belongs to (`order-<id>` or `cleanup-order-<id>`); undefined for others. */
export const orderIdOf = (workflowId: string): string | undefined =>
  /^(?:cleanup-)?order-(.+)$/.exec(workflowId)?.[1];
