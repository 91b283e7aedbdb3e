/**
 * The points of an order a caller may wait for (`POST /orders?wait=…`, the client library, the CLI's
 * `--wait`), and when an order has reached one. Pure code without I/O: workflow code imports it.
 */
import { isTerminal } from './orders';
import type { OrderView } from './types';

/**
 * `accepted`: the order's workflow has taken it (its run began); `paid`: the charge went through;
 * `shipped`: the carrier has the shipment.
 */
export const WAIT_POINTS = ['accepted', 'paid', 'shipped'] as const;
export type WaitPoint = (typeof WAIT_POINTS)[number];

export const isWaitPoint = (v: unknown): v is WaitPoint =>
  typeof v === 'string' && (WAIT_POINTS as readonly string[]).includes(v);

/**
 * Whether a caller waiting for `point` has its answer: the order is there or past it, or it has ended
 * (completed, cancelled or failed), after which it goes no further.
 */
export function hasReached(point: WaitPoint, view: Pick<OrderView, 'status' | 'steps'>): boolean {
  if (isTerminal(view.status)) return true;
  switch (point) {
    case 'accepted':
      return true;
    case 'paid':
      return view.steps.payment.state === 'SUCCEEDED';
    case 'shipped':
      return view.steps.shipping.state === 'SUCCEEDED';
  }
}
