import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { OrderView, ReplyEnvelope } from '../src/domain/types';

/** Every signal, query and search attribute of the order workflow, in one place. */

/** A service's reply, delivered by the reply bridge. Repeated replies are ignored by id. */
export const replySignal = defineSignal<[ReplyEnvelope]>('reply');
/** Ask the order to stop and compensate what it did; ignored once the shipment is handed over. */
export const cancelSignal = defineSignal<[{ reason?: string }]>('cancel');
/** Re-check the step the order waits on: its command is sent again at once (same id, so no second effect). */
export const reconcileSignal = defineSignal<[{ reason?: string }]>('reconcile');
/** The order's current status and each step's state. */
export const orderStateQuery = defineQuery<OrderView>('orderState');

export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const CustomerIdKey = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const OrderTotalCentsKey = defineSearchAttributeKey(
  'OrderTotalCents',
  SearchAttributeType.INT,
);

export const ORDER_WORKFLOW_TYPE = 'orderFulfillment';
export const workflowIdFor = (orderId: string): string => `order-${orderId}`;
