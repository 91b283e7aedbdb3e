import type { JetStreamClient } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'pg';
import type { CommandEnvelope, CommandPayloads, CommandType } from '../domain/types';
import type { Logger } from '../platform/logger';
import { publishJson } from '../platform/messaging/publish';
import { runPeriodically } from '../platform/periodic';
import { commandSubject } from '../platform/messaging/subjects';
import type { OrderService } from '../orders/order-service';
import { ORDER_WORKFLOW_TYPE, reconcileSignal, workflowIdFor } from '../../workflows/definitions';

/** Above any sequence number a workflow issues, so the service applies it after everything the order did. */
export const RECONCILER_SEQ = 1_000_000;

export interface ReconcileReport {
  /** Running orders that made no progress for longer than the threshold, signalled to reconcile. */
  signalled: string[];
  /** Accepted orders that had no workflow, now started. */
  started: string[];
  /** Effects no live workflow accounts for, and the compensation sent for each. */
  orphans: { orderId: string; effect: string; compensation: CommandType }[];
}

export interface ReconcilerDeps {
  temporal: Client;
  pool: Pool;
  js: JetStreamClient;
  orders: OrderService;
  namespace: string;
  log: Logger;
}

/** Orders running without progress since `olderThan`, from Temporal visibility. */
async function stuckWorkflows(
  deps: ReconcilerDeps,
  olderThan: Date,
  max: number,
): Promise<string[]> {
  const query =
    `WorkflowType = "${ORDER_WORKFLOW_TYPE}" AND ExecutionStatus = "Running" ` +
    `AND OrderProgressAt < "${olderThan.toISOString()}" AND OrderStatus != "NEEDS_ATTENTION"`;
  const ids: string[] = [];
  for await (const wf of deps.temporal.workflow.list({ query, pageSize: Math.min(max, 1000) })) {
    ids.push(wf.workflowId);
    if (ids.length >= max) break;
  }
  return ids;
}

/** Accepted orders, older than the threshold and not final, whose workflow may never have started. */
async function unstartedOrders(
  deps: ReconcilerDeps,
  olderThan: Date,
  max: number,
): Promise<string[]> {
  const { rows } = await deps.pool.query<{ order_id: string }>(
    `SELECT order_id FROM app.orders WHERE status = 'PENDING' AND created_at < $1 ORDER BY created_at LIMIT $2`,
    [olderThan, max],
  );
  const started: string[] = [];
  for (const r of rows) if (await deps.orders.ensureStarted(r.order_id)) started.push(r.order_id);
  return started;
}

/**
 * Effects of orders that ended FAILED or CANCELLED and were never undone: a live charge, a shipment not
 * cancelled, points not reversed, stock still reserved. Each gets its compensation as a command with a
 * deterministic id, so another round (or another reconciler) sends the same command and nothing twice.
 */
async function orphanEffects(
  deps: ReconcilerDeps,
  max: number,
): Promise<ReconcileReport['orphans']> {
  const { rows } = await deps.pool.query<{ order_id: string; effect: string; customer_id: string }>(
    `SELECT o.order_id, e.effect, o.customer_id FROM app.orders o
     CROSS JOIN LATERAL (
       SELECT 'charge' AS effect WHERE EXISTS (SELECT 1 FROM payment.charges c WHERE c.order_id = o.order_id AND c.status = 'charged')
       UNION ALL
       SELECT 'shipment' WHERE EXISTS (SELECT 1 FROM shipping.shipments s WHERE s.order_id = o.order_id AND s.status = 'created')
       UNION ALL
       SELECT 'points' WHERE EXISTS (SELECT 1 FROM loyalty.ledger l WHERE l.order_id = o.order_id AND l.kind = 'award' AND l.points > 0)
         AND NOT EXISTS (SELECT 1 FROM loyalty.ledger l WHERE l.order_id = o.order_id AND l.kind = 'reverse')
       UNION ALL
       SELECT 'reservation' WHERE EXISTS (SELECT 1 FROM inventory.reservations r WHERE r.order_id = o.order_id AND r.state = 'reserved')
     ) e
     WHERE o.status IN ('FAILED', 'CANCELLED')
     LIMIT $1`,
    [max],
  );
  const out: ReconcileReport['orphans'] = [];
  for (const r of rows) {
    const [type, payload] = compensationFor(r.effect, r.order_id, r.customer_id);
    const workflowId = workflowIdFor(r.order_id);
    const command: CommandEnvelope = {
      commandId: `${workflowId}:${type}:reconciler`,
      type,
      orderId: r.order_id,
      workflowId,
      seq: RECONCILER_SEQ,
      payload,
    };
    await publishJson(deps.js, commandSubject(type), command, command.commandId, {
      commandId: command.commandId,
      orderId: r.order_id,
    });
    out.push({ orderId: r.order_id, effect: r.effect, compensation: type });
  }
  return out;
}

function compensationFor(
  effect: string,
  orderId: string,
  customerId: string,
): [CommandType, CommandPayloads[CommandType]] {
  const origin = `${workflowIdFor(orderId)}:reconciler`;
  switch (effect) {
    case 'charge':
      return ['payment.refund', { chargeCommandId: origin, amountCents: 0 }];
    case 'shipment':
      return ['shipping.cancel', { createCommandId: origin }];
    case 'points':
      return ['loyalty.reverse', { awardCommandId: origin, customerId }];
    default:
      return ['inventory.release', { reserveCommandId: origin }];
  }
}

/** One round: signal stuck orders, start unstarted ones, compensate orphan effects. */
export async function reconcileRound(
  deps: ReconcilerDeps,
  opts: { thresholdMs: number; maxPerRound: number; orphans?: boolean },
): Promise<ReconcileReport> {
  const olderThan = new Date(Date.now() - opts.thresholdMs);
  const signalled: string[] = [];
  for (const workflowId of await stuckWorkflows(deps, olderThan, opts.maxPerRound)) {
    try {
      await deps.temporal.workflow
        .getHandle(workflowId)
        .signal(reconcileSignal, { reason: 'no progress' });
      signalled.push(workflowId.replace(/^order-/, ''));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  const started = await unstartedOrders(deps, olderThan, opts.maxPerRound);
  const orphans = opts.orphans === false ? [] : await orphanEffects(deps, opts.maxPerRound);
  const report = { signalled, started, orphans };
  if (signalled.length || started.length || orphans.length)
    deps.log.warn(report, 'reconciler acted');
  return report;
}

/** Runs a round every period until stopped. */
export function startReconciler(
  deps: ReconcilerDeps,
  opts: { periodMs: number; thresholdMs: number; maxPerRound: number },
) {
  return runPeriodically(
    () => reconcileRound(deps, opts),
    opts.periodMs,
    (err) => deps.log.error({ err }, 'reconcile round failed; will retry'),
  );
}
