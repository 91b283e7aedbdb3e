import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApiClient } from '../../src/client/api-client';
import { ShipshapeClient } from '../../src/client';
import type { OrderDetails, OrderSummary } from '../../src/orders/order-service';
import { projectRoot } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { payloadKeysFor } from '../../src/platform/temporal/configured-payload-keys';
import { formatPayloadKeys } from '../../src/platform/temporal/payload-keys';
import { TEST_ENV, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

const run = promisify(execFile);

describe('callers who wait for an answer: POST /orders?wait=… (real Temporal, JetStream, PostgreSQL)', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness();
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
  });
  afterEach(() => {
    h.payment.state.faults.failOrderIds = [];
    h.payment.state.faults.refuseOrderIds = [];
  });

  const chargesFor = (orderId: string) =>
    h.payment.state.ledger.charges.filter((c) => c.orderId === orderId);
  const shipmentsFor = (orderId: string) =>
    h.carrier.state.ledger.shipments.filter((s) => s.orderId === orderId);
  /** Every run Temporal holds of the order's workflow. */
  const runsOf = async (orderId: string) =>
    (await h.temporal.workflow.count(`WorkflowId = "order-${orderId}"`)).count;
  const historyOf = async (orderId: string) =>
    (await h.temporal.workflow.getHandle(`order-${orderId}`).fetchHistory()).events ?? [];

  /** A new order of one item on a SKU of its own, with stock for it. */
  async function newOrder(): Promise<{
    orderId: string;
    sku: string;
    body: ReturnType<typeof orderBody>;
  }> {
    const sku = uniqueId('sku');
    const orderId = uniqueId('ord');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 5 })).status, 200);
    return { orderId, sku, body: orderBody({ orderId, customerId: uniqueId('cust'), sku }) };
  }

  it('wait=paid answers once the charge went through, and the order completes once', async () => {
    const { orderId, body } = await newOrder();
    const r = await http<OrderDetails>(h, 'POST', '/orders?wait=paid', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.orderId, orderId);
    assert.equal(r.body.steps?.payment.state, 'SUCCEEDED');
    assert.match(r.body.steps?.payment.result?.chargeId as string, /^ch_/);
    assert.equal(chargesFor(orderId).length, 1, 'charged by the time the answer came');
    assert.equal(r.body.totalCents, 2_100);
    assert.match(r.body.createdAt, /^\d{4}-/);
    const done = await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    assert.equal(done.steps?.payment.result?.chargeId, r.body.steps?.payment.result?.chargeId);
    assert.equal(chargesFor(orderId).length, 1);
    assert.equal(await runsOf(orderId), 1);
    // The run was started with the wait, as the API's signed start of a recorded order: the run
    // did not write the order's row again, and took the wait in its first workflow task.
    const history = await historyOf(orderId);
    const activities = history
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    assert.equal(activities.includes('recordOrderAccepted'), false, activities.join(', '));
    const firstTaskEnds = history.findIndex((e) => e.workflowTaskCompletedEventAttributes);
    assert.ok(
      history
        .slice(
          firstTaskEnds,
          history.findIndex((e, i) => i > firstTaskEnds && e.workflowTaskScheduledEventAttributes),
        )
        .some((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
      "the wait was taken in the run's first workflow task",
    );
    // Marked started, so no sweep starts it again.
    await waitFor('the order to be marked started', async () => {
      const { rows } = await h.pool.query<{ pending: boolean }>(
        'SELECT start_pending AS pending FROM app.orders WHERE order_id = $1',
        [orderId],
      );
      return rows[0]?.pending === false;
    });
  });

  it('wait=shipped answers once the carrier has it; Prefer: wait=N alone waits for the payment', async () => {
    const first = await newOrder();
    const shipped = await http<OrderDetails>(h, 'POST', '/orders?wait=shipped', first.body);
    assert.equal(shipped.status, 200);
    assert.equal(shipped.body.steps?.shipping.state, 'SUCCEEDED');
    assert.ok(['FINALIZING', 'COMPLETED'].includes(shipped.body.status), shipped.body.status);
    assert.equal(shipmentsFor(first.orderId).length, 1);

    const second = await newOrder();
    const paid = await new ApiClient(h.apiUrl, h.apiKey).request<OrderDetails>(
      'POST',
      '/orders',
      second.body,
      { prefer: 'wait=20' },
    );
    assert.equal(paid.status, 200);
    assert.equal(paid.body.steps?.payment.state, 'SUCCEEDED');
    await waitForOrder(h, second.orderId, hasStatus('COMPLETED'));
  });

  it('a declined card ends the wait with the failed order, its stock given back', async () => {
    const { orderId, sku, body } = await newOrder();
    h.payment.state.faults.refuseOrderIds = [orderId];
    const r = await http<OrderDetails>(h, 'POST', '/orders?wait=shipped', body);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'FAILED');
    assert.equal(r.body.failureReason, 'payment: card_declined');
    assert.equal(r.body.steps?.payment.state, 'FAILED');
    assert.equal(r.body.steps?.inventory.state, 'COMPENSATED');
    assert.equal(chargesFor(orderId).length, 0);
    const stock = await http<{ available: number; reserved: number }>(
      h,
      'GET',
      `/inventory/${sku}`,
    );
    assert.deepEqual([stock.body.available, stock.body.reserved], [5, 0]);
  });

  it('a wait that runs out answers the usual 202, and the order still completes, once', async () => {
    const { orderId, body } = await newOrder();
    // The payment company is down for this order: its charge waits.
    h.payment.state.faults.failOrderIds = [orderId];
    const started = Date.now();
    const r = await http<OrderSummary>(h, 'POST', '/orders?wait=paid', body, { prefer: 'wait=1' });
    assert.equal(r.status, 202);
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
    assert.deepEqual(Object.keys(r.body).sort(), ['links', 'orderId', 'status', 'workflowId']);
    assert.equal(r.body.orderId, orderId);
    h.payment.state.faults.failOrderIds = [];
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    assert.equal(chargesFor(orderId).length, 1);
    assert.equal(shipmentsFor(orderId).length, 1);
    assert.equal(await runsOf(orderId), 1);
  });

  it('a caller who goes away while waiting loses nothing: the order completes exactly once', async () => {
    const { orderId, body } = await newOrder();
    h.payment.state.faults.failOrderIds = [orderId];
    const gone = new AbortController();
    const waiting = fetch(`${h.apiUrl}/orders?wait=shipped`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${h.apiKey}`,
        prefer: 'wait=60',
      },
      body: JSON.stringify(body),
      signal: gone.signal,
    });
    // The caller hangs up once its order is taken and its charge is being tried.
    await waitForOrder(h, orderId, hasStatus('CHARGING_PAYMENT'));
    gone.abort();
    await assert.rejects(waiting, (e: Error) => e.name === 'AbortError');
    h.payment.state.faults.failOrderIds = [];
    const done = await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    assert.equal(done.steps?.shipping.state, 'SUCCEEDED');
    assert.equal(chargesFor(orderId).length, 1);
    assert.equal(shipmentsFor(orderId).length, 1);
    assert.equal(await runsOf(orderId), 1);
    // The same order posted again is the same order, answered as it ended.
    const again = await http<OrderDetails>(h, 'POST', '/orders?wait=paid', body);
    assert.deepEqual([again.status, again.body.status], [200, 'COMPLETED']);
  });

  it('a wait on an order that has ended answers its final state and never starts it again', async () => {
    const { orderId, body } = await newOrder();
    assert.equal((await http(h, 'POST', '/orders', body)).status, 202);
    const ended = await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    for (const wait of ['accepted', 'paid', 'shipped']) {
      const r = await new ApiClient(h.apiUrl, h.apiKey).request<OrderDetails>(
        'POST',
        `/orders?wait=${wait}`,
        body,
        { prefer: 'wait=5' },
      );
      assert.equal(r.status, 200, wait);
      assert.equal(r.body.status, 'COMPLETED');
      assert.deepEqual(r.body.steps, ended.steps);
    }
    assert.equal(await runsOf(orderId), 1);
    assert.equal(chargesFor(orderId).length, 1);
  });

  it('refuses a wait it cannot take with 400, naming it, and places nothing', async () => {
    const { orderId, body } = await newOrder();
    const r = await http<{ issues: { field: string }[] }>(
      h,
      'POST',
      '/orders?wait=delivered',
      body,
      {
        prefer: 'wait=600',
      },
    );
    assert.equal(r.status, 400);
    assert.deepEqual(
      r.body.issues.map((i) => i.field),
      ['wait', 'Prefer'],
    );
    assert.equal((await http(h, 'GET', `/orders/${orderId}`)).status, 404);
  });

  it('the HTTP client, the CLI and the client library wait the same way', async () => {
    const api = new ApiClient(h.apiUrl, h.apiKey);
    const viaApi = await newOrder();
    const placed = await api.placeOrder(viaApi.body, { wait: 'paid', waitSeconds: 20 });
    assert.equal(placed.reached, true);
    assert.equal(placed.reached && placed.order.steps?.payment.state, 'SUCCEEDED');

    const viaCli = await newOrder();
    const file = path.join(os.tmpdir(), `${uniqueId('order')}.json`);
    writeFileSync(file, JSON.stringify(viaCli.body));
    const cli = await run(
      'node',
      [path.join(projectRoot, 'bin', 'shipshape.js'), 'order', 'place', file, '--wait', 'paid'],
      { env: { ...TEST_ENV, PORT: new URL(h.apiUrl).port }, cwd: projectRoot },
    );
    const printed = JSON.parse(cli.stdout) as OrderDetails;
    assert.equal(printed.orderId, viaCli.orderId);
    assert.equal(printed.steps?.payment.state, 'SUCCEEDED');

    const secrets = readLocalSecrets(h.config.stack.dir)!;
    const client = await ShipshapeClient.connect({
      address: h.config.temporal.address,
      taskQueue: h.config.temporal.taskQueue,
      workflowSettings: { stepTimeoutMs: 5_000 },
      payloadKeys: formatPayloadKeys(payloadKeysFor(h.config)),
      dataKeys: `${secrets.dataKey!.id}:${secrets.dataKey!.key}`,
    });
    try {
      const viaLib = await newOrder();
      const order = {
        ...viaLib.body,
        orderId: viaLib.orderId,
      };
      const shipped = await client.placeOrder(order, { wait: 'shipped', waitMs: 20_000 });
      assert.equal(shipped.created, true);
      assert.equal(shipped.view?.steps.shipping.state, 'SUCCEEDED');
      await waitForOrder(h, viaLib.orderId, hasStatus('COMPLETED'));
      const again = await client.placeOrder(order, { wait: 'paid' });
      assert.deepEqual([again.created, again.view?.status], [false, 'COMPLETED']);
      assert.equal(await runsOf(viaLib.orderId), 1);
    } finally {
      await client.close();
    }
  });
});
