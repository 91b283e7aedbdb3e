import { Client } from '@temporalio/client';
import type { OrderDetails } from '../../src/orders/order-service';
import { waitFor } from '../../src/platform/wait';
import { uniqueId } from '../support/env';
import { hasStatus, http, orderBody, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

/**
 * The paths of an order whose histories the replay test keeps: each played on the real stack (the
 * app's processes in one harness, real Temporal, JetStream and PostgreSQL, the fake providers), the
 * way the integration tests play them. Each resolves with the id of the order it placed.
 */
export interface Scenario {
  name: string;
  /** Step timeouts short enough to play timeouts out, or long enough that only a reconcile moves on. */
  timing: 'short' | 'reconcile';
  play(h: Harness): Promise<string>;
}

async function placeOrder(h: Harness, opts: { available?: number; quantity?: number } = {}) {
  const sku = uniqueId('sku');
  const orderId = uniqueId('ord');
  await http(h, 'PUT', `/inventory/${sku}`, { available: opts.available ?? 10 });
  const placed = await http(
    h,
    'POST',
    '/orders',
    orderBody({ orderId, customerId: uniqueId('cust'), sku, quantity: opts.quantity ?? 2 }),
  );
  if (placed.status !== 202) throw new Error(`placing an order answered ${placed.status}`);
  return orderId;
}

const ended = (h: Harness, orderId: string, status: OrderDetails['status']) =>
  waitForOrder(h, orderId, hasStatus(status), 90_000);

/** An order placed, a fault arranged for it, played to the status it ends with. */
const playedTo = (
  name: string,
  status: OrderDetails['status'],
  arrange: (h: Harness, orderId: string) => void = () => undefined,
  stock?: { available: number; quantity: number },
): Scenario => ({
  name,
  timing: 'short',
  async play(h) {
    const orderId = await placeOrder(h, stock);
    arrange(h, orderId);
    await ended(h, orderId, status);
    return orderId;
  },
});

/** The charge is slow; the order is cancelled (by `cancel`) while it waits for it. */
const cancelledDuringPayment = (
  name: string,
  cancel: (h: Harness, orderId: string) => Promise<unknown>,
): Scenario => ({
  name,
  timing: 'short',
  async play(h) {
    h.payment.state.faults.latencyMs = 1_000;
    const orderId = await placeOrder(h);
    await ended(h, orderId, 'CHARGING_PAYMENT');
    await cancel(h, orderId);
    await ended(h, orderId, 'CANCELLED');
    return orderId;
  },
});

/** The carrier rejects the address and the refund is dead-lettered: an operator answers `action`. */
const needsAttentionThen = (action: 'retry' | 'give-up'): Scenario => ({
  name: `needs-attention-then-${action}`,
  timing: 'short',
  async play(h) {
    h.carrier.state.faults.latencyMs = 500;
    const orderId = await placeOrder(h);
    h.carrier.state.faults.refuseOrderIds.push(orderId);
    await ended(h, orderId, 'CREATING_SHIPMENT');
    h.payment.state.faults.failNext = 1_000_000;
    await ended(h, orderId, 'NEEDS_ATTENTION');
    if (action === 'retry') h.payment.state.faults.failNext = 0;
    await http(h, 'POST', `/orders/${orderId}/resolve`, { action });
    await ended(h, orderId, 'FAILED');
    return orderId;
  },
});

/** Every reply sits unread (the bridge is stopped): only reconciles, sent by `reconcile`, move the order. */
const reconciledBy = (
  name: string,
  reconcile: (h: Harness, orderId: string) => Promise<unknown>,
): Scenario => ({
  name,
  timing: 'reconcile',
  async play(h) {
    await h.stopBridge();
    try {
      const orderId = await placeOrder(h);
      await waitFor(
        `order ${orderId} to complete by reconciles alone`,
        async () => {
          await reconcile(h, orderId);
          const o = (await http<OrderDetails>(h, 'GET', `/orders/${orderId}`)).body;
          return o.status === 'COMPLETED' ? o : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 300 },
      );
      return orderId;
    } finally {
      await h.startBridge();
    }
  },
});

export const SCENARIOS: Scenario[] = [
  playedTo('completed', 'COMPLETED'),
  playedTo('card-declined', 'FAILED', (h, orderId) =>
    h.payment.state.faults.refuseOrderIds.push(orderId),
  ),
  playedTo('out-of-stock', 'FAILED', () => undefined, { available: 1, quantity: 2 }),
  playedTo('address-rejected', 'FAILED', (h, orderId) =>
    h.carrier.state.faults.refuseOrderIds.push(orderId),
  ),
  // Every delivery of the shipment is refused: JetStream gives up on it.
  playedTo('dead-lettered', 'FAILED', (h) => (h.carrier.state.faults.badRequestNext = 3)),
  cancelledDuringPayment('cancelled-during-payment', (h, orderId) =>
    http(h, 'POST', `/orders/${orderId}/cancel`, { reason: 'recording' }),
  ),
  // Temporal's own cancel (`temporal workflow cancel`) is the order's cancel.
  cancelledDuringPayment('temporal-cancel', (h, orderId) =>
    h.temporal.workflow.getHandle(`order-${orderId}`).cancel(),
  ),
  {
    name: 'cancel-refused-after-shipping',
    timing: 'short',
    async play(h) {
      h.carrier.state.faults.latencyMs = 500;
      const orderId = await placeOrder(h);
      await ended(h, orderId, 'CREATING_SHIPMENT');
      await h.stopService('inventory'); // the commit waits: the order sits in FINALIZING
      try {
        await ended(h, orderId, 'FINALIZING');
        const refused = await http(h, 'POST', `/orders/${orderId}/cancel`, {});
        if (refused.status !== 409) throw new Error(`the cancel answered ${refused.status}`);
      } finally {
        await h.startService('inventory');
      }
      await ended(h, orderId, 'COMPLETED');
      return orderId;
    },
  },
  {
    name: 'resent-after-timeout',
    timing: 'short',
    async play(h) {
      await h.stopService('payment');
      let orderId: string;
      try {
        orderId = await placeOrder(h);
        await waitForOrder(h, orderId, (o) => (o.steps?.payment.sends ?? 0) >= 2, 30_000);
      } finally {
        await h.startService('payment');
      }
      await ended(h, orderId, 'COMPLETED');
      return orderId;
    },
  },
  needsAttentionThen('retry'),
  needsAttentionThen('give-up'),
  {
    name: 'points-in-background',
    timing: 'short',
    async play(h) {
      await h.stopService('loyalty');
      let orderId: string;
      try {
        orderId = await placeOrder(h);
        await ended(h, orderId, 'COMPLETED');
      } finally {
        await h.startService('loyalty');
      }
      await waitForOrder(h, orderId, (o) => o.steps?.loyalty.state === 'SUCCEEDED', 60_000);
      return orderId;
    },
  },
  {
    // Callers who wait (POST /orders?wait=…): the first starts the run with its wait, the second
    // waits on the running order; each wait is answered in its own later task.
    name: 'waited-until-shipped',
    timing: 'short',
    async play(h) {
      h.carrier.state.faults.latencyMs = 500;
      const sku = uniqueId('sku');
      const orderId = uniqueId('ord');
      await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
      const body = orderBody({ orderId, customerId: uniqueId('cust'), sku });
      const paid = await http(h, 'POST', '/orders?wait=paid', body);
      if (paid.status !== 200) throw new Error(`waiting for the payment answered ${paid.status}`);
      const shipped = await http(h, 'POST', '/orders?wait=shipped', body);
      if (shipped.status !== 200)
        throw new Error(`waiting for the shipment answered ${shipped.status}`);
      await ended(h, orderId, 'COMPLETED');
      return orderId;
    },
  },
  {
    // Temporal's cancel while a caller waits for the shipment: the wait is answered CANCELLED.
    name: 'waited-then-cancelled',
    timing: 'short',
    async play(h) {
      h.payment.state.faults.latencyMs = 1_000;
      const sku = uniqueId('sku');
      const orderId = uniqueId('ord');
      await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
      const body = orderBody({ orderId, customerId: uniqueId('cust'), sku });
      const waiting = http<OrderDetails>(h, 'POST', '/orders?wait=shipped', body, {
        prefer: 'wait=60',
      });
      await ended(h, orderId, 'CHARGING_PAYMENT');
      await h.temporal.workflow.getHandle(`order-${orderId}`).cancel();
      const answered = await waiting;
      if (answered.body.status !== 'CANCELLED')
        throw new Error(`the wait answered ${answered.status} ${answered.body.status}`);
      return orderId;
    },
  },
  reconciledBy('reconciled-step-by-step', (h, orderId) =>
    http(h, 'POST', `/orders/${orderId}/reconcile`, { reason: 'recording' }),
  ),
  // The Temporal CLI without the codec server: the reconcile's input reaches Temporal unencrypted.
  reconciledBy('reconciled-in-clear', (h, orderId) =>
    new Client({
      connection: h.temporal.connection,
      namespace: h.config.temporal.namespace,
    }).workflow
      .getHandle(`order-${orderId}`)
      .signal('reconcile', {}),
  ),
];
