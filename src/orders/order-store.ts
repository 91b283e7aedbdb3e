import type { Pool } from 'pg';
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
  createdAt: Date;
  updatedAt: Date;
  /** True while the order waits for its workflow to be started (the API starts it after answering). */
  startPending: boolean;
}

const COLUMNS = `order_id AS "orderId", workflow_id AS "workflowId", customer_id AS "customerId",
  idempotency_key AS "idempotencyKey", status, total_cents AS "totalCents", currency, steps,
  failure_reason AS "failureReason", created_at AS "createdAt", updated_at AS "updatedAt",
  start_pending AS "startPending"`;

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

/** Stores the workflow's final view; the orders table answers once the run is gone. */
export async function recordOrderOutcome(pool: Pool, view: OrderView): Promise<void> {
  await pool.query(
    `UPDATE app.orders SET status = $2, steps = $3, failure_reason = $4, updated_at = now() WHERE order_id = $1`,
    [view.orderId, view.status, JSON.stringify(view.steps), view.failureReason ?? null],
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
