/**
 * What a reconciler remembers between its rounds: where each paged check stopped (so a round goes on
 * past the rows the last one saw, not back to the same first hundred), which orders it has signalled
 * when, and which open runs it found failing. A restart forgets it and starts from the oldest.
 */
export class ReconcilerState {
  /** The last (created_at, order_id) the open-orders check looked at. */
  openOrdersAfter: { createdAt: Date; orderId: string } | undefined;
  /** The last (updated_at, order_id) the orphan check looked at. */
  endedOrdersAfter: { updatedAt: Date; orderId: string } | undefined;
  /** Stuck orders signalled, by workflow id: when last. */
  readonly signalled = new Map<string, number>();
  /** Open runs whose workflow tasks keep failing, by order id. */
  readonly failing = new Set<string>();
  /** When the closed-runs check last looked (it looks again from a little before). */
  closedSince: Date | undefined;
}
