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

/** Records an accepted order; undefined when the order id or the idempotency key is already known. */
export async function insertAcceptedOrder(
  pool: Pool,
  order: OrderRequest,
  workflowId: string,
  totalCents: number,
  idempotencyKey: string | undefined,
  /** True when the caller answers before the workflow starts (the API): the sweep then knows it waits. */
  startPending = false,
): Promise<OrderRow | undefined> {
  const { rows } = await pool.query<OrderRow>(
    `INSERT INTO app.orders (order_id, workflow_id, customer_id, idempotency_key, status, total_cents, currency, request, start_pending)
     VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8)
     ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [
      order.orderId,
      workflowId,
      order.customerId,
      idempotencyKey ?? null,
      totalCents,
      order.currency,
      JSON.stringify(order),
      startPending,
    ],
  );
  return rows[0];
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
