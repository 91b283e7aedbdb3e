import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import type { DeadLetter } from '../../src/replies/dead-letter-store';
import { connectNats } from '../../src/platform/messaging/connection';
import type { OrderDetails } from '../../src/orders/order-service';
import { projectRoot } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { TEST_ENV, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

const run = promisify(execFile);

describe('failures as durable workflow logic: saga, cancel, timeouts that re-send, dead letters', function () {
  this.timeout(90_000);
  let h: Harness;
  let nc: NatsConnection;

  before(async function () {
    this.timeout(120_000);
    // Short timeouts so each failure plays out in seconds.
    h = await startHarness({
      SHIPSHAPE_STEP_TIMEOUT_MS: '1500',
      SHIPSHAPE_STEP_MAX_SENDS: '3',
      SHIPSHAPE_MAX_DELIVER: '3',
      SHIPSHAPE_COMPENSATION_ROUNDS: '1',
      SHIPSHAPE_LOYALTY_RETRY_MS: '300',
    });
    nc = await connectNats(h.config, 'admin', 'test-failures');
  });
  after(async function () {
    this.timeout(60_000);
    await nc?.close();
    await h?.stop();
  });
  afterEach(() => h.payment.app.inject({ method: 'POST', url: '/_control/reset' }));
  afterEach(() => h.carrier.app.inject({ method: 'POST', url: '/_control/reset' }));

  const charges = (orderId: string) =>
    h.payment.state.ledger.charges.filter((c) => c.orderId === orderId);
  const refundsOf = (orderId: string) => {
    const ids = new Set(charges(orderId).map((c) => c.chargeId));
    return h.payment.state.ledger.refunds.filter((r) => ids.has(r.chargeId));
  };
  const shipments = (orderId: string) =>
    h.carrier.state.ledger.shipments.filter((s) => s.orderId === orderId);
  const stock = async (sku: string) =>
    (await http<{ available: number; reserved: number }>(h, 'GET', `/inventory/${sku}`)).body;
  const points = async (c: string) =>
    (await http<{ points: number }>(h, 'GET', `/customers/${c}/points`)).body.points;

  /** A new SKU with 10 in stock, set through the API (so while inventory runs). */
  async function stockedSku() {
    const sku = uniqueId('sku');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 10 })).status, 200);
    return sku;
  }

  async function placeOrder(quantity = 2, stocked?: string) {
    const sku = stocked ?? (await stockedSku());
    const customerId = uniqueId('cust');
    const orderId = uniqueId('ord');
    const res = await http(
      h,
      'POST',
      '/orders',
      orderBody({ orderId, customerId, sku, quantity, unitPriceCents: 2_500 }),
    );
    assert.equal(res.status, 202);
    return { sku, customerId, orderId };
  }

  const stepStates = (o: OrderDetails) =>
    Object.fromEntries(Object.entries(o.steps ?? {}).map(([k, v]) => [k, v.state]));

  it('refunds once, releases stock and reverses points when the carrier rejects the address', async () => {
    const { orderId, sku, customerId } = await placeOrder();
    h.carrier.state.faults.refuseOrderIds.push(orderId);
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'FAILED');
    assert.match(done.failureReason ?? '', /shipping: address_rejected/);
    assert.deepEqual(stepStates(done), {
      inventory: 'COMPENSATED',
      payment: 'COMPENSATED',
      loyalty: 'COMPENSATED',
      shipping: 'FAILED',
    });
    assert.equal(charges(orderId).length, 1);
    assert.equal(refundsOf(orderId).length, 1);
    assert.equal(refundsOf(orderId)[0]!.amountCents, 5_000);
    assert.equal(shipments(orderId).length, 0);
    assert.deepEqual(await stock(sku), { sku, available: 10, reserved: 0 });
    assert.equal(await points(customerId), 0);
  });

  it('cancels while the stock is being reserved: the reservation is released once the service answers', async () => {
    const sku = await stockedSku();
    await h.stopService('inventory');
    let ids: { orderId: string; sku: string };
    try {
      ids = await placeOrder(2, sku);
      await waitForOrder(h, ids.orderId, hasStatus('RESERVING_INVENTORY'));
      assert.equal((await http(h, 'POST', `/orders/${ids.orderId}/cancel`)).status, 202);
    } finally {
      await h.startService('inventory');
    }
    const done = await waitForOrder(h, ids.orderId);
    assert.equal(done.status, 'CANCELLED');
    assert.equal(done.steps?.inventory.state, 'COMPENSATED');
    assert.equal(done.steps?.payment.state, 'SKIPPED');
    assert.equal(charges(ids.orderId).length, 0);
    assert.deepEqual(await stock(ids.sku), { sku: ids.sku, available: 10, reserved: 0 });
    const { rows } = await h.pool.query<{ command_type: string; outcome: string }>(
      'SELECT command_type, outcome FROM inventory.consumed_messages WHERE order_id = $1 ORDER BY seq',
      [ids.orderId],
    );
    // Both commands waited in the stream; the reserve came first, so it was applied and then released.
    assert.deepEqual(rows, [
      { command_type: 'inventory.reserve', outcome: 'applied' },
      { command_type: 'inventory.release', outcome: 'applied' },
    ]);
  });

  it('cancels while points are being awarded: points, charge and stock are all undone once', async () => {
    await h.stopService('loyalty');
    let ids: { orderId: string; sku: string; customerId: string };
    try {
      ids = await placeOrder();
      await waitForOrder(h, ids.orderId, hasStatus('AWARDING_POINTS'));
      assert.equal((await http(h, 'POST', `/orders/${ids.orderId}/cancel`)).status, 202);
    } finally {
      await h.startService('loyalty');
    }
    const done = await waitForOrder(h, ids.orderId);
    assert.equal(done.status, 'CANCELLED');
    assert.deepEqual(stepStates(done), {
      inventory: 'COMPENSATED',
      payment: 'COMPENSATED',
      loyalty: 'COMPENSATED',
      shipping: 'SKIPPED',
    });
    assert.equal(charges(ids.orderId).length, 1);
    assert.equal(refundsOf(ids.orderId).length, 1);
    assert.equal(await points(ids.customerId), 0);
    assert.deepEqual(await stock(ids.sku), { sku: ids.sku, available: 10, reserved: 0 });
  });

  it('cancels during payment: the charge that lands is refunded once and the stock comes back', async () => {
    h.payment.state.faults.latencyMs = 1_000;
    const { orderId, sku, customerId } = await placeOrder();
    await waitForOrder(h, orderId, hasStatus('CHARGING_PAYMENT'));
    const res = await http(h, 'POST', `/orders/${orderId}/cancel`, {
      reason: 'customer changed their mind',
    });
    assert.equal(res.status, 202);
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'CANCELLED');
    assert.equal(done.failureReason, 'customer changed their mind');
    assert.equal(charges(orderId).length, 1);
    assert.equal(refundsOf(orderId).length, 1);
    assert.equal(shipments(orderId).length, 0);
    assert.deepEqual(await stock(sku), { sku, available: 10, reserved: 0 });
    assert.equal(await points(customerId), 0);
  });

  it('cancels while the shipment is being created: the shipment is cancelled, everything else undone, each once', async () => {
    h.carrier.state.faults.latencyMs = 1_000;
    const { orderId, sku, customerId } = await placeOrder();
    await waitForOrder(h, orderId, hasStatus('CREATING_SHIPMENT'));
    assert.equal((await http(h, 'POST', `/orders/${orderId}/cancel`)).status, 202);
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'CANCELLED');
    assert.equal(shipments(orderId).length, 1);
    assert.equal(shipments(orderId)[0]!.cancelled, true);
    assert.equal(
      h.carrier.state.ledger.cancellations.filter(
        (c) => c.shipmentId === shipments(orderId)[0]!.shipmentId,
      ).length,
      1,
    );
    assert.equal(refundsOf(orderId).length, 1);
    assert.deepEqual(await stock(sku), { sku, available: 10, reserved: 0 });
    assert.equal(await points(customerId), 0);
  });

  it('refuses to cancel with 409 once the shipment is handed to the carrier, and 404 for an unknown order', async () => {
    h.carrier.state.faults.latencyMs = 800;
    const { orderId, sku } = await placeOrder();
    await waitForOrder(h, orderId, hasStatus('CREATING_SHIPMENT'));
    await h.stopService('inventory'); // holds the order after the handover, before it completes
    try {
      await waitForOrder(h, orderId, hasStatus('FINALIZING'));
      const refused = await http<{ message: string; status: string }>(
        h,
        'POST',
        `/orders/${orderId}/cancel`,
      );
      assert.equal(refused.status, 409);
      assert.match(refused.body.message, /handed to the carrier/);
    } finally {
      await h.startService('inventory');
    }
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    const late = await http<{ message: string }>(h, 'POST', `/orders/${orderId}/cancel`);
    assert.equal(late.status, 409);
    assert.match(late.body.message, /already COMPLETED/);
    assert.deepEqual(await stock(sku), { sku, available: 8, reserved: 0 });
    assert.equal((await http(h, 'POST', `/orders/${uniqueId('nope')}/cancel`)).status, 404);
  });

  it('charges exactly once when the provider charges and then drops its response, twice', async () => {
    h.payment.state.faults.dropResponseNext = 2;
    const { orderId } = await placeOrder();
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'COMPLETED');
    assert.equal(charges(orderId).length, 1);
    const keys = h.payment.state.calls.filter(
      (c) => c.route === 'charges' && c.idempotencyKey.startsWith(`order-${orderId}:`),
    );
    assert.equal(
      new Set(keys.map((k) => k.idempotencyKey)).size,
      1,
      'one Idempotency-Key for the charge',
    );
    assert.ok(keys.length >= 3, `the provider saw the retries (${keys.length})`);
  });

  it('re-sends a command while its service is down past the step timeout, and does it once when it is back', async () => {
    await h.stopService('shipping');
    let orderId: string;
    try {
      ({ orderId } = await placeOrder());
      await waitForOrder(
        h,
        orderId,
        (o) => o.status === 'CREATING_SHIPMENT' && (o.steps?.shipping.sends ?? 0) >= 2,
      );
    } finally {
      await h.startService('shipping');
    }
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'COMPLETED');
    assert.equal(shipments(orderId).length, 1);
    const { rows } = await h.pool.query(
      'SELECT 1 FROM shipping.consumed_messages WHERE order_id = $1',
      [orderId],
    );
    assert.equal(rows.length, 1);
  });

  it('compensates a charge that lands after the workflow gave up waiting for it', async () => {
    await h.stopService('payment');
    let ids: { orderId: string; sku: string };
    try {
      ids = await placeOrder();
      // Every send of the charge times out; the step fails and the refund, too, waits for the service.
      const stuck = await waitForOrder(h, ids.orderId, hasStatus('NEEDS_ATTENTION'), 30_000);
      assert.equal(stuck.steps?.payment.state, 'COMPENSATING');
      assert.match(stuck.failureReason ?? '', /payment: no reply from the service/);
    } finally {
      await h.startService('payment');
    }
    // Back up, the service charges (the command was durable) and then refunds: the late reply resumes the order.
    const done = await waitForOrder(h, ids.orderId);
    assert.equal(done.status, 'FAILED');
    assert.equal(charges(ids.orderId).length, 1);
    assert.equal(refundsOf(ids.orderId).length, 1);
    assert.equal(shipments(ids.orderId).length, 0);
    assert.deepEqual(await stock(ids.sku), { sku: ids.sku, available: 10, reserved: 0 });
  });

  it('refunds once when the refund fails twice before it succeeds', async () => {
    h.carrier.state.faults.latencyMs = 500;
    const { orderId, sku } = await placeOrder();
    h.carrier.state.faults.refuseOrderIds.push(orderId);
    await waitForOrder(h, orderId, hasStatus('CREATING_SHIPMENT'));
    h.payment.state.faults.failNext = 2; // the charge is done: these hit the refund
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'FAILED');
    assert.equal(h.payment.state.faults.failNext, 0, 'both failures were used up');
    assert.equal(refundsOf(orderId).length, 1);
    assert.deepEqual(await stock(sku), { sku, available: 10, reserved: 0 });
  });

  it('asks for attention when a refund never succeeds, and a retry signal resumes it', async () => {
    h.carrier.state.faults.latencyMs = 500;
    const { orderId, sku } = await placeOrder();
    h.carrier.state.faults.refuseOrderIds.push(orderId);
    await waitForOrder(h, orderId, hasStatus('CREATING_SHIPMENT'));
    h.payment.state.faults.failNext = 1_000_000;
    const stuck = await waitForOrder(h, orderId, hasStatus('NEEDS_ATTENTION'));
    assert.match(
      stuck.attention ?? '',
      /payment\.refund .* not confirmed after 1 rounds: dead-lettered/,
    );
    assert.equal(stuck.steps?.payment.state, 'COMPENSATING');
    assert.equal(refundsOf(orderId).length, 0);
    const { rows } = await h.pool.query<{ subject: string }>(
      'SELECT subject FROM app.dead_letters WHERE order_id = $1',
      [orderId],
    );
    assert.deepEqual(
      rows.map((r) => r.subject),
      ['cmd.payment.refund'],
    );

    // An operator fixes the provider and says "retry".
    h.payment.state.faults.failNext = 0;
    const wrong = await http(h, 'POST', `/orders/${orderId}/resolve`, { action: 'later' });
    assert.equal(wrong.status, 400);
    assert.equal(
      (await http(h, 'POST', `/orders/${orderId}/resolve`, { action: 'retry' })).status,
      202,
    );
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.steps?.payment.state, 'COMPENSATED');
    assert.equal(refundsOf(orderId).length, 1);
    assert.deepEqual(await stock(sku), { sku, available: 10, reserved: 0 });
  });

  it('completes the order when loyalty is down, and credits the points once in the background', async () => {
    await h.stopService('loyalty');
    let ids: { orderId: string; customerId: string };
    try {
      ids = await placeOrder(3);
      const done = await waitForOrder(h, ids.orderId, hasStatus('COMPLETED'));
      assert.equal(done.steps?.loyalty.state, 'RETRYING');
      // Points are loyalty's to tell: while it is down the API says so, and nothing is credited.
      const asked = await http(h, 'GET', `/customers/${ids.customerId}/points`);
      assert.equal(asked.status, 503);
      const { rowCount } = await h.pool.query('SELECT 1 FROM loyalty.ledger WHERE order_id = $1', [
        ids.orderId,
      ]);
      assert.equal(rowCount, 0);
    } finally {
      await h.startService('loyalty');
    }
    await waitFor('the points to be credited', async () => (await points(ids.customerId)) === 75);
    const credited = await waitForOrder(
      h,
      ids.orderId,
      (o) => o.steps?.loyalty.state === 'SUCCEEDED',
    );
    assert.equal(credited.status, 'COMPLETED');
    const { rows } = await h.pool.query('SELECT points FROM loyalty.ledger WHERE order_id = $1', [
      ids.orderId,
    ]);
    assert.deepEqual(rows, [{ points: 75 }]);
  });

  it('dead-letters a command the provider never accepts, fails the order with the reason, and a replay has no late effect', async () => {
    h.carrier.state.faults.badRequestNext = 3; // every delivery of the shipment command is refused
    const { orderId, sku } = await placeOrder();
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'FAILED');
    assert.match(
      done.failureReason ?? '',
      /shipping: dead-lettered: terminated: failed 3 deliveries; last error: .*400/,
    );
    assert.equal(refundsOf(orderId).length, 1);
    assert.deepEqual(await stock(sku), { sku, available: 10, reserved: 0 });

    const cli = (...args: string[]) =>
      run('node', [path.join(projectRoot, 'bin', 'shipshape.js'), ...args], {
        env: TEST_ENV,
        cwd: projectRoot,
      });
    const listed = JSON.parse(
      (await cli('dlq', 'list', '--order', orderId, '--json')).stdout,
    ) as DeadLetter[];
    assert.equal(listed.length, 1);
    const dl = listed[0]!;
    assert.equal(dl.subject, 'cmd.shipping.create');
    assert.equal(dl.status, 'open');
    assert.equal(dl.deliveryCount, 3);
    assert.match(dl.commandId ?? '', new RegExp(`^order-${orderId}:shipping\\.create:\\d+$`));
    assert.equal((JSON.parse(dl.payload) as { commandId: string }).commandId, dl.commandId);

    // The carrier is fixed; the replay reaches the service, which sees the order compensated and applies nothing.
    const replay = await cli('dlq', 'replay', dl.id);
    assert.match(replay.stderr, new RegExp(`replayed dead letter ${dl.id} to cmd.shipping.create`));
    const outcome = await waitFor('the replayed command to be handled', async () => {
      const r = await h.pool.query<{ outcome: string }>(
        'SELECT outcome FROM shipping.consumed_messages WHERE command_id = $1',
        [dl.commandId],
      );
      return r.rows[0]?.outcome;
    });
    assert.equal(outcome, 'stale');
    assert.equal(shipments(orderId).length, 0);
    const shown = JSON.parse((await cli('dlq', 'show', dl.id)).stdout) as DeadLetter;
    assert.equal(shown.status, 'replayed');
    await assert.rejects(cli('dlq', 'show', '999999999'), (e: { code: number }) => e.code === 3);
  });

  it('dead-letters an unparseable message at once, with the order it names', async () => {
    const orderId = uniqueId('poison');
    const hdrs = headers();
    hdrs.set('Shipshape-Order-Id', orderId);
    hdrs.set('Shipshape-Command-Id', `order-${orderId}:payment.charge:2`);
    await jetstream(nc).publish('cmd.payment.charge', '{"this is": "not a command"', {
      headers: hdrs,
      msgID: uniqueId('poison'),
    });
    const row = await waitFor('the dead letter', async () => {
      const r = await h.pool.query<{ error: string; delivery_count: number; payload: string }>(
        'SELECT error, delivery_count, payload FROM app.dead_letters WHERE order_id = $1',
        [orderId],
      );
      return r.rows[0];
    });
    assert.match(row.error, /terminated: unparseable/);
    assert.equal(row.delivery_count, 1);
    assert.equal(row.payload, '{"this is": "not a command"');
  });
});
