import { loadConfig } from '../../src/platform/config';
import type { Config } from '../../src/platform/config';
import { createPool } from '../../src/platform/db/pool';
import type { Pool } from '../../src/platform/db/pool';
import type {
  CommandEnvelope,
  CommandPayloads,
  CommandType,
  OrderRequest,
  OrderStatus,
  OrderView,
  ReplyEnvelope,
  StepName,
} from '../../src/domain/types';
import { orderTotalCents } from '../../src/domain/orders';

/**
 * What both baselines share. They run as child processes of the benchmark (so their CPU and memory
 * are measured like Shipshape's), read the same configuration, use the same database and JetStream
 * server and do each step with Shipshape's own service code (src/services/*: the same SQL, the same
 * consumed-messages table and outbox row, the same provider calls and idempotency keys).
 * They connect as the stack's migrator (PostgreSQL) and admin (NATS): roles change rights, not work.
 */

export function baselineConfig(): Config {
  return loadConfig();
}

export function baselinePool(config: Config, max: number, name: string): Pool {
  return createPool(config, 'migrator', { max, applicationName: `bench-${name}` });
}

/** The port a baseline process listens on: the role's index above the API port of the stack. */
export function baselinePort(config: Config, role: string, roles: readonly string[]): number {
  return config.api.port + 40 + roles.indexOf(role);
}

/** One forward step: what each order asks of a service, in the order Shipshape's workflow asks it. */
export interface Step {
  step: StepName;
  type: CommandType;
  payload: (order: OrderRequest, reserveCommandId: string) => CommandPayloads[CommandType];
}

export const FORWARD_STEPS: Step[] = [
  {
    step: 'inventory',
    type: 'inventory.reserve',
    payload: (o) => ({ items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity })) }),
  },
  {
    step: 'payment',
    type: 'payment.charge',
    payload: (o) => ({
      customerId: o.customerId,
      amountCents: orderTotalCents(o),
      currency: o.currency,
    }),
  },
  {
    step: 'loyalty',
    type: 'loyalty.award',
    payload: (o) => ({ customerId: o.customerId, orderTotalCents: orderTotalCents(o) }),
  },
  {
    step: 'shipping',
    type: 'shipping.create',
    payload: (o) => ({
      address: o.shippingAddress,
      items: o.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
    }),
  },
  {
    step: 'inventory',
    type: 'inventory.commit',
    payload: (_o, reserveCommandId) => ({ reserveCommandId }),
  },
];

/** The command of step `index` (0-based) of an order, with a deterministic id as Shipshape's. */
export function commandFor(prefix: string, order: OrderRequest, index: number): CommandEnvelope {
  const s = FORWARD_STEPS[index]!;
  const runId = `${prefix}-${order.orderId}`;
  const idOf = (i: number) => `${runId}:${FORWARD_STEPS[i]!.type}:${i + 1}`;
  return {
    commandId: idOf(index),
    type: s.type,
    orderId: order.orderId,
    workflowId: runId,
    seq: index + 1,
    payload: s.payload(order, idOf(0)),
  };
}

/** The compensation of a forward step that happened, for a failed order (newest first). */
export function compensationFor(
  prefix: string,
  order: OrderRequest,
  done: ReplyEnvelope,
  seq: number,
): CommandEnvelope | undefined {
  const runId = `${prefix}-${order.orderId}`;
  const make = (type: CommandType, payload: CommandPayloads[CommandType]): CommandEnvelope => ({
    commandId: `${runId}:${type}:${seq}`,
    type,
    orderId: order.orderId,
    workflowId: runId,
    seq,
    payload,
  });
  switch (done.type) {
    case 'inventory.reserve':
      return make('inventory.release', { reserveCommandId: done.commandId });
    case 'payment.charge':
      return make('payment.refund', {
        chargeCommandId: done.commandId,
        amountCents: orderTotalCents(order),
      });
    case 'loyalty.award':
      return make('loyalty.reverse', {
        awardCommandId: done.commandId,
        customerId: order.customerId,
      });
    case 'shipping.create':
      return make('shipping.cancel', { createCommandId: done.commandId });
    default:
      return undefined;
  }
}

/** Each step's final state, as the orders table stores it. */
export function finalSteps(status: OrderStatus): OrderView['steps'] {
  const state = status === 'COMPLETED' ? 'SUCCEEDED' : 'SKIPPED';
  return {
    inventory: { state },
    payment: { state },
    loyalty: { state },
    shipping: { state },
  };
}

/** The final view recorded in app.orders, as Shipshape's workflow records it (recordOrderOutcome). */
export function finalView(
  prefix: string,
  order: OrderRequest,
  status: OrderStatus,
  failureReason?: string,
): OrderView {
  return {
    orderId: order.orderId,
    workflowId: `${prefix}-${order.orderId}`,
    customerId: order.customerId,
    status,
    totalCents: orderTotalCents(order),
    currency: order.currency,
    steps: finalSteps(status),
    ...(failureReason ? { failureReason } : {}),
  };
}

/**
 * A baseline process's entry point: serves `role`, tells the parent when it is ready, stops on SIGTERM,
 * SIGINT or the parent going away, and exits 1 with the error if it cannot start.
 */
export function runBaselineProcess(
  design: string,
  serve: (role: string) => Promise<() => Promise<void>>,
): void {
  const role = process.argv[2] ?? '';
  serve(role).then(
    (stop) => {
      const bye = () => void stop().finally(() => process.exit(0));
      process.on('SIGTERM', bye);
      process.on('SIGINT', bye);
      process.on('disconnect', bye);
      process.send?.({ ready: role });
    },
    (err: unknown) => {
      process.stderr.write(`${design} ${role}: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
