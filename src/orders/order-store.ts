import type { Pool } from 'pg';
import { TERMINAL_STATUSES } from '../domain/types';
import type { OrderRequest, OrderStatus, OrderView, StepName, StepView } from '../domain/types';

export interface OrderRow {
  orderId: string;
  workflowId: string;
  customerId: string;
  idempotencyKey: string | null;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  steps: Record<StepName, StepView> | null;
  failureReason: string | null;
  /** Why the order waits for a person (NEEDS_ATTENTION), as the workflow or the reconciler found it. */
  attention: string | null;
  /** Cleanups started for it: of a run that closed unfinished, or of effects left after it ended. */
  cleanupRuns: number;
  createdAt: Date;
  updatedAt: Date;
  /** True while the order waits for its workflow to be started (the API starts it after answering). */
  startPending: boolean;
}

const COLUMNS = `order_id AS "orderId", workflow_id AS "workflowId", customer_id AS "customerId",
  idempotency_key AS "idempotencyKey", status, total_cents AS "totalCents", currency, steps,
  failure_reason AS "failureReason", attention, cleanup_runs AS "cleanupRuns",
  created_at AS "createdAt", updated_at AS "updatedAt", start_pending AS "startPending"`;

/** An accepted order as it is written: the request, its workflow id and total, and its key if any. */
export interface AcceptedOrder {
  order: OrderRequest;
  workflowId: string;
  totalCents: number;
  idempotencyKey: string | undefined;
  /** True when the caller answers before the workflow starts (the API): the sweep then knows it waits. */
  startPending: boolean;
}

/**
 * Records accepted orders in one statement (one commit). Each gets its row back, or undefined when its
 * order id or idempotency key is already known — also when an earlier order of the same batch took it.
 */
export async function insertAcceptedOrders(
  pool: Pool,
  batch: readonly AcceptedOrder[],
): Promise<(OrderRow | undefined)[]> {
  if (!batch.length) return [];
  const values: unknown[] = [];
  const tuples = batch.map((a) => {
    const at = values.length;
    values.push(
      a.order.orderId,
      a.workflowId,
      a.order.customerId,
      a.idempotencyKey ?? null,
      a.totalCents,
      a.order.currency,
      JSON.stringify(a.order),
      a.startPending,
    );
    const p = (i: number) => `$${at + i}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, 'PENDING', ${p(5)}::bigint, ${p(6)}, ${p(7)}::jsonb, ${p(8)}::boolean)`;
  });
  const { rows } = await pool.query<OrderRow>(
    `INSERT INTO app.orders (order_id, workflow_id, customer_id, idempotency_key, status, total_cents, currency, request, start_pending)
     VALUES ${tuples.join(', ')}
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    values,
  );
  // Rows are inserted in the order given, so a repeated order id in the batch went to its first entry.
  const byId = new Map(rows.map((r) => [r.orderId, r]));
  return batch.map((a) => {
    const row = byId.get(a.order.orderId);
    byId.delete(a.order.orderId);
    return row;
  });
}

/** Records one accepted order; undefined when its order id or idempotency key is already known. */
export async function insertAcceptedOrder(
  pool: Pool,
  order: OrderRequest,
  workflowId: string,
  totalCents: number,
  idempotencyKey: string | undefined,
  startPending = false,
): Promise<OrderRow | undefined> {
  const [row] = await insertAcceptedOrders(pool, [
    { order, workflowId, totalCents, idempotencyKey, startPending },
  ]);
  return row;
}

/** Marks orders whose workflows now exist, so the sweep leaves them alone. */
export async function markWorkflowsStarted(pool: Pool, orderIds: string[]): Promise<void> {
  if (!orderIds.length) return;
  await pool.query(
    'UPDATE app.orders SET start_pending = false WHERE order_id = ANY($1) AND start_pending',
    [orderIds],
  );
}

/** Accepted orders still waiting for their workflow, oldest first, accepted before `olderThan`. */
export async function unstartedOrders(
  pool: Pool,
  olderThan: Date,
  limit: number,
): Promise<OrderRequest[]> {
  const { rows } = await pool.query<{ request: OrderRequest }>(
    `SELECT request FROM app.orders WHERE start_pending AND created_at < $1
     ORDER BY created_at LIMIT $2`,
    [olderThan, limit],
  );
  return rows.map((r) => r.request);
}

/**
 * Orders not ended, accepted before `olderThan`, oldest first, from after `after` (a page of a walk
 * through all of them).
 */
export async function openOrdersOlderThan(
  pool: Pool,
  olderThan: Date,
  after: { createdAt: Date; orderId: string } | undefined,
  limit: number,
): Promise<OrderRow[]> {
  // Keyed on the time in ms, as a JavaScript Date holds it: compared in µs, the last row of a page
  // would come after its own cursor and start every next page again.
  const { rows } = await pool.query<OrderRow>(
    `SELECT ${COLUMNS} FROM app.orders
     WHERE status <> ALL($1) AND created_at < $2
       AND ($3::timestamptz IS NULL OR (date_trunc('milliseconds', created_at), order_id) > ($3, $4))
     ORDER BY date_trunc('milliseconds', created_at), order_id LIMIT $5`,
    [TERMINAL_STATUSES, olderThan, after?.createdAt ?? null, after?.orderId ?? '', limit],
  );
  return rows;
}

/** Which of these orders have a row that has not ended. */
export async function unendedOrders(pool: Pool, orderIds: string[]): Promise<Set<string>> {
  if (!orderIds.length) return new Set();
  const { rows } = await pool.query<{ order_id: string }>(
    `SELECT order_id FROM app.orders WHERE order_id = ANY($1) AND status <> ALL($2)`,
    [orderIds, TERMINAL_STATUSES],
  );
  return new Set(rows.map((r) => r.order_id));
}

export async function findOrder(pool: Pool, orderId: string): Promise<OrderRow | undefined> {
  const { rows } = await pool.query<OrderRow>(
    `SELECT ${COLUMNS} FROM app.orders WHERE order_id = $1`,
    [orderId],
  );
  return rows[0];
}

export async function findOrderByIdempotencyKey(
  pool: Pool,
  key: string,
): Promise<OrderRow | undefined> {
  const { rows } = await pool.query<OrderRow>(
    `SELECT ${COLUMNS} FROM app.orders WHERE idempotency_key = $1`,
    [key],
  );
  return rows[0];
}

export async function loadOrderRequest(
  pool: Pool,
  orderId: string,
): Promise<OrderRequest | undefined> {
  const { rows } = await pool.query<{ request: OrderRequest }>(
    'SELECT request FROM app.orders WHERE order_id = $1',
    [orderId],
  );
  return rows[0]?.request;
}

/** Stores the workflow's view (final, or waiting for a person); the orders table answers once the run is gone. */
export async function recordOrderOutcome(pool: Pool, view: OrderView): Promise<void> {
  await pool.query(
    `UPDATE app.orders SET status = $2, steps = $3, failure_reason = $4, attention = $5, updated_at = now()
     WHERE order_id = $1`,
    [
      view.orderId,
      view.status,
      JSON.stringify(view.steps),
      view.failureReason ?? null,
      view.attention ?? null,
    ],
  );
}

/**
 * An order the reconciler found waiting for a person although its workflow cannot say so (its
 * workflow tasks keep failing, its workflow is gone from Temporal, its cleanups gave up). An order
 * that has ended keeps its status and gets the note.
 */
export async function markNeedsAttention(pool: Pool, orderId: string, why: string): Promise<void> {
  await pool.query(
    `UPDATE app.orders
     SET status = CASE WHEN status = ANY($3) THEN status ELSE 'NEEDS_ATTENTION' END,
         attention = $2, updated_at = now()
     WHERE order_id = $1 AND attention IS DISTINCT FROM $2`,
    [orderId, why, TERMINAL_STATUSES],
  );
}

/**
 * An operator's answer to an order the reconciler marked: `retry` clears the mark and the count of
 * cleanups (the reconciler then starts one again); `give-up` ends it FAILED with the mark kept, so no
 * sweep ever undoes what it holds. Answers the status the order has now.
 */
export async function resolveMarkedOrder(
  pool: Pool,
  orderId: string,
  action: 'retry' | 'give-up',
  reason: string | undefined,
): Promise<OrderStatus> {
  const { rows } = await pool.query<{ status: OrderStatus }>(
    action === 'retry'
      ? `UPDATE app.orders SET attention = NULL, cleanup_runs = 0, updated_at = now()
         WHERE order_id = $1 AND status = 'NEEDS_ATTENTION' RETURNING status`
      : `UPDATE app.orders SET status = 'FAILED', updated_at = now(),
           attention = 'given up by an operator: ' || $2 || '; what its services still hold is theirs to settle',
           failure_reason = coalesce(failure_reason, 'given up by an operator')
         WHERE order_id = $1 AND status = 'NEEDS_ATTENTION' RETURNING status`,
    action === 'retry' ? [orderId] : [orderId, reason ?? 'no reason given'],
  );
  return rows[0]?.status ?? 'NEEDS_ATTENTION';
}

/**
 * Orders that ended without completing and that no person has been asked about, oldest change first
 * from after `after`: those whose services the orphan check asks what they still hold. `next` is where
 * the next page starts (undefined after the last).
 */
export async function endedOrdersPage(
  pool: Pool,
  after: { updatedAt: Date; orderId: string } | undefined,
  limit: number,
): Promise<{ rows: OrderRow[]; next: { updatedAt: Date; orderId: string } | undefined }> {
  const { rows } = await pool.query<OrderRow>(
    `SELECT ${COLUMNS} FROM app.orders o
     WHERE o.status = ANY($1) AND o.attention IS NULL
       AND ($2::timestamptz IS NULL OR (date_trunc('milliseconds', o.updated_at), o.order_id) > ($2, $3))
     ORDER BY date_trunc('milliseconds', o.updated_at), o.order_id LIMIT $4`,
    [UNDONE_ENDINGS, after?.updatedAt ?? null, after?.orderId ?? '', limit],
  );
  const last = rows[rows.length - 1];
  return {
    rows,
    next:
      rows.length < limit || !last
        ? undefined
        : { updatedAt: last.updatedAt, orderId: last.orderId },
  };
}

/** The ways an order ends without completing: whatever it took is given back. */
const UNDONE_ENDINGS: OrderStatus[] = ['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

/** Counts one more cleanup started for the order. */
export async function countCleanupStarted(pool: Pool, orderId: string): Promise<void> {
  await pool.query(
    'UPDATE app.orders SET cleanup_runs = cleanup_runs + 1, updated_at = now() WHERE order_id = $1',
    [orderId],
  );
}

export async function listOrders(
  pool: Pool,
  filter: { status?: string; customerId?: string; limit: number },
): Promise<OrderRow[]> {
  const { rows } = await pool.query<OrderRow>(
    `SELECT ${COLUMNS} FROM app.orders
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR customer_id = $2)
     ORDER BY created_at DESC LIMIT $3`,
    [filter.status ?? null, filter.customerId ?? null, filter.limit],
  );
  return rows;
}

/** How many orders the table holds in each status it records. */
export async function countOrdersByStatus(pool: Pool): Promise<Map<OrderStatus, number>> {
  const { rows } = await pool.query<{ status: OrderStatus; n: number }>(
    'SELECT status, count(*)::int AS n FROM app.orders GROUP BY status',
  );
  return new Map(rows.map((r) => [r.status, r.n]));
}
