import assert from 'node:assert/strict';
import type { OrderDetails, OrderSummary } from '../../src/orders/order-service';
import { uniqueId } from '../support/env';
import {
  authHeaders,
  hasStatus,
  http,
  orderBody,
  startHarness,
  waitForOrder,
} from '../support/harness';
import type { Harness } from '../support/harness';

describe('the order path, end to end (real Temporal, JetStream, PostgreSQL)', function () {
  let h: Harness;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness();
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
  });

  async function stock(sku: string) {
    return (
      await http<{ sku: string; available: number; reserved: number }>(
        h,
        'GET',
        `/inventory/${sku}`,
      )
    ).body;
  }
  async function points(customerId: string) {
    return (await http<{ points: number }>(h, 'GET', `/customers/${customerId}/points`)).body
      .points;
  }
  const chargesFor = (orderId: string) =>
    h.payment.state.ledger.charges.filter((c) => c.orderId === orderId);
  const shipmentsFor = (orderId: string) =>
    h.carrier.state.ledger.shipments.filter((s) => s.orderId === orderId);
  async function workflowRuns(orderId: string): Promise<number> {
    return (await h.temporal.workflow.count(`WorkflowId = "order-${orderId}"`)).count;
  }

  it('completes an order posted over HTTP: one charge, one shipment, stock down, points up once', async () => {
    const sku = uniqueId('sku');
    const customerId = uniqueId('cust');
    const orderId = uniqueId('ord');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 10 })).status, 200);

    const res = await http<OrderSummary>(
      h,
      'POST',
      '/orders',
      orderBody({ orderId, customerId, sku, quantity: 3, unitPriceCents: 1_050 }),
    );
    assert.equal(res.status, 202);
    assert.equal(res.body.orderId, orderId);
    assert.equal(res.body.workflowId, `order-${orderId}`);
    assert.match(res.body.links.temporalUi, new RegExp(`/workflows/order-${orderId}$`));

    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'COMPLETED', JSON.stringify(done));
    assert.deepEqual(
      Object.values(done.steps ?? {}).map((s) => s.state),
      ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'],
    );
    assert.equal(chargesFor(orderId).length, 1);
    assert.equal(chargesFor(orderId)[0]!.amountCents, 3_150);
    assert.equal(shipmentsFor(orderId).length, 1);
    assert.deepEqual(await stock(sku), { sku, available: 7, reserved: 0 });
    assert.equal(await points(customerId), 31); // 3150 cents → 31 points, rounded down

    // Each step is one activity that the service's reply completes: no signal, no timer.
    const events =
      (await h.temporal.workflow.getHandle(`order-${orderId}`).fetchHistory()).events ?? [];
    const count = (f: (e: (typeof events)[number]) => unknown) => events.filter(f).length;
    assert.equal(
      count((e) => e.activityTaskScheduledEventAttributes),
      5,
    );
    assert.equal(
      count((e) => e.activityTaskCompletedEventAttributes),
      5,
    );
    assert.equal(
      count((e) => e.workflowExecutionSignaledEventAttributes),
      0,
    );
    assert.equal(
      count((e) => e.timerStartedEventAttributes),
      0,
    );
  });

  it('answers the same orderId posted again with the same order, before and after completion, and charges once', async () => {
    const sku = uniqueId('sku');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
    const body = orderBody({ orderId, customerId: uniqueId('cust'), sku });

    const [a, b] = await Promise.all([
      http<OrderSummary>(h, 'POST', '/orders', body),
      http<OrderSummary>(h, 'POST', '/orders', body),
    ]);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(a.body.orderId, orderId);
    assert.equal(b.body.orderId, orderId);
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));

    const again = await http<OrderSummary>(h, 'POST', '/orders', body);
    assert.equal(again.status, 202);
    assert.equal(again.body.orderId, orderId);
    assert.equal(again.body.status, 'COMPLETED');
    assert.equal(chargesFor(orderId).length, 1);
    assert.equal(shipmentsFor(orderId).length, 1);
    assert.equal(await workflowRuns(orderId), 1);
    assert.deepEqual(await stock(sku), { sku, available: 8, reserved: 0 });
  });

  it('answers the same Idempotency-Key with the same order and starts nothing new', async () => {
    const sku = uniqueId('sku');
    const key = uniqueId('key');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
    const body = orderBody({ customerId: uniqueId('cust'), sku }); // no orderId: the server picks one
    const first = await http<OrderSummary>(h, 'POST', '/orders', body, { 'idempotency-key': key });
    assert.equal(first.status, 202);
    const orderId = first.body.orderId;
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    const second = await http<OrderSummary>(h, 'POST', '/orders', body, { 'idempotency-key': key });
    assert.equal(second.status, 202);
    assert.equal(second.body.orderId, orderId);
    assert.equal(chargesFor(orderId).length, 1);
    assert.equal(await workflowRuns(orderId), 1);
    assert.deepEqual(await stock(sku), { sku, available: 8, reserved: 0 });
  });

  it('fails an order whose card is declined: no shipment, stock released, no points', async () => {
    const sku = uniqueId('sku');
    const customerId = uniqueId('declined');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 5 });
    h.payment.state.faults.refuseCustomerIds.push(customerId);

    await http(h, 'POST', '/orders', orderBody({ orderId, customerId, sku, quantity: 2 }));
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.steps?.payment.state, 'FAILED');
    assert.equal(done.steps?.payment.detail, 'card_declined');
    assert.equal(done.steps?.inventory.state, 'COMPENSATED');
    assert.match(done.failureReason ?? '', /card_declined/);
    assert.equal(chargesFor(orderId).length, 0);
    assert.equal(h.payment.state.ledger.declines.filter((d) => d.orderId === orderId).length, 1);
    assert.equal(shipmentsFor(orderId).length, 0);
    assert.deepEqual(await stock(sku), { sku, available: 5, reserved: 0 });
    assert.equal(await points(customerId), 0);
  });

  it('fails an order for more than the stock without charging, and reserves none of its items', async () => {
    const plenty = uniqueId('sku-plenty');
    const scarce = uniqueId('sku-scarce');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${plenty}`, { available: 50 });
    await http(h, 'PUT', `/inventory/${scarce}`, { available: 1 });
    const body = {
      ...orderBody({ orderId, customerId: uniqueId('cust'), sku: plenty }),
      items: [
        { sku: plenty, quantity: 5, unitPriceCents: 100 },
        { sku: scarce, quantity: 2, unitPriceCents: 100 },
      ],
    };
    await http(h, 'POST', '/orders', body);
    const done = await waitForOrder(h, orderId);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.steps?.inventory.detail, 'out_of_stock');
    assert.equal(done.steps?.payment.state, 'SKIPPED');
    assert.equal(chargesFor(orderId).length, 0);
    assert.deepEqual(await stock(plenty), { sku: plenty, available: 50, reserved: 0 });
    assert.deepEqual(await stock(scarce), { sku: scarce, available: 1, reserved: 0 });
  });

  it('refuses bad input with a 400 that names each bad field, and starts nothing', async () => {
    const orderId = uniqueId('bad');
    const res = await http<{ error: string; issues: { field: string; message: string }[] }>(
      h,
      'POST',
      '/orders',
      {
        orderId,
        customerId: '',
        items: [
          { sku: 'ok-sku', quantity: 0, unitPriceCents: 1.5 },
          { sku: 'has space', quantity: 1, unitPriceCents: 10 },
        ],
        currency: 'euro',
        shippingAddress: { line1: '1 Quay', city: 'Leith', country: 'Scotland' },
      },
    );
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    const fields = res.body.issues.map((i) => i.field).sort();
    assert.deepEqual(fields, [
      'currency',
      'customerId',
      'items.0.quantity',
      'items.0.unitPriceCents',
      'items.1.sku',
      'shippingAddress.country',
    ]);
    assert.equal((await http(h, 'GET', `/orders/${orderId}`)).status, 404);
    assert.equal(await workflowRuns(orderId), 0);

    const missing = await http<{ issues: { field: string }[] }>(h, 'POST', '/orders', {});
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.issues.map((i) => i.field).sort(), [
      'currency',
      'customerId',
      'items',
      'shippingAddress',
    ]);

    const notJson = await http<{ message: string }>(h, 'POST', '/orders', '{"orderId": ', {
      'content-type': 'application/json',
    });
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.message, /JSON/i);

    const badKey = await http<{ issues: { field: string }[] }>(
      h,
      'POST',
      '/orders',
      orderBody({ customerId: 'c1', sku: 's1' }),
      {
        'idempotency-key': 'has spaces in it',
      },
    );
    assert.equal(badKey.status, 400);
    assert.deepEqual(
      badKey.body.issues.map((i) => i.field),
      ['Idempotency-Key'],
    );
  });

  it('serves stock, points, health and metrics as the contract says', async () => {
    const sku = uniqueId('sku');
    assert.equal((await http(h, 'GET', `/inventory/${sku}`)).status, 404);
    assert.deepEqual((await http(h, 'PUT', `/inventory/${sku}`, { available: 4 })).body, {
      sku,
      available: 4,
      reserved: 0,
    });
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: -1 })).status, 400);
    assert.equal((await http(h, 'GET', '/orders/no-such-order')).status, 404);
    const customerId = uniqueId('nobody');
    assert.deepEqual((await http(h, 'GET', `/customers/${customerId}/points`)).body, {
      customerId,
      points: 0,
    });
    assert.deepEqual((await http(h, 'GET', '/healthz')).body, { ok: true });
    const metrics = await fetch(`${h.apiUrl}/metrics`, { headers: authHeaders(h) });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /shipshape_http_requests_total\{/);
  });

  it('reads a finished order from the orders table with its steps', async () => {
    const sku = uniqueId('sku');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 3 });
    await http(
      h,
      'POST',
      '/orders',
      orderBody({ orderId, customerId: uniqueId('cust'), sku, quantity: 1 }),
    );
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    const { rows } = await h.pool.query<{ status: string; steps: OrderDetails['steps'] }>(
      'SELECT status, steps FROM app.orders WHERE order_id = $1',
      [orderId],
    );
    assert.equal(rows[0]?.status, 'COMPLETED');
    assert.equal(rows[0]?.steps?.shipping.state, 'SUCCEEDED');
    assert.match(String(rows[0]?.steps?.shipping.result?.trackingNumber), /^TRK\d{10}$/);
  });
});
