import type { Config } from '../platform/config';
import { temporalUiLink } from '../platform/config';
import type { OrderStatus, OrderView, StepName, StepView } from '../domain/types';
import type { OrderRow } from './order-store';

/** What the API answers about an order: its summary (POST /orders, actions) and its details (GET). */

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

export function orderSummary(
  config: Config,
  orderId: string,
  workflowId: string,
  status: OrderStatus,
): OrderSummary {
  const self = `/orders/${encodeURIComponent(orderId)}`;
  return {
    orderId,
    workflowId,
    status,
    links: {
      self,
      cancel: `${self}/cancel`,
      reconcile: `${self}/reconcile`,
      temporalUi: temporalUiLink(config, workflowId),
    },
  };
}

/**
 * The order's details: its workflow's live `view` where there is one (the run is open), else what the
 * orders table recorded.
 */
export function orderDetails(config: Config, row: OrderRow, view?: OrderView): OrderDetails {
  const attention = view ? view.attention : (row.attention ?? undefined);
  return {
    ...orderSummary(config, row.orderId, row.workflowId, view?.status ?? row.status),
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
