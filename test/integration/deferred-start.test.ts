import assert from 'node:assert/strict';
import { insertAcceptedOrder } from '../../src/orders/order-store';
import { orderTotalCents } from '../../src/domain/orders';
import type { OrderRequest } from '../../src/domain/types';
import { workflowIdFor } from '../../workflows/definitions';
import { uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

/**
 * The API answers once an order is committed and starts its workflow right after: an accepted order is
 * never left without its workflow, and what a caller does next (cancel, reconcile) finds the workflow.
 */
describe('accepted before started: the API starts workflows after it answers', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    h = await startHarness();
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
  });

  async function newOrder(quantity = 1) {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
    const body = orderBody({
      orderId: uniqueId('ord'),
      customerId: uniqueId('cust'),
      sku,
      quantity,
      unitPriceCents: 1_000,
    });
    return { sku, body: body as unknown as OrderRequest };
  }

  const stockOf = async (sku: string) =>
    (await http<{ available: number; reserved: number }>(h, 'GET', `/inventory/${sku}`)).body;
  const chargesFor = (orderId: string) =>
    h.payment.state.ledger.charges.filter((c) => c.orderId === orderId).length;

  /** What an API leaves behind when it stops between committing an order and starting its workflow. */
  const acceptWithoutStarting = (body: OrderRequest) =>
    insertAcceptedOrder(
      h.pool,
      body,
      workflowIdFor(body.orderId),
      orderTotalCents(body),
      undefined,
      true,
    );

  it('starts the workflow of an order its API accepted but did not start before it stopped', async () => {
    const { sku, body } = await newOrder(3);
    await acceptWithoutStarting(body);
    await h.pool.query(
      "UPDATE app.orders SET created_at = now() - interval '1 minute' WHERE order_id = $1",
      [body.orderId],
    );
    const done = await waitForOrder(h, body.orderId);
    assert.equal(done.status, 'COMPLETED');
    assert.equal(chargesFor(body.orderId), 1);
    const stock = await stockOf(sku);
    assert.deepEqual([stock.available, stock.reserved], [7, 0]);
    const { rows } = await h.pool.query<{ start_pending: boolean }>(
      'SELECT start_pending FROM app.orders WHERE order_id = $1',
      [body.orderId],
    );
    assert.deepEqual(rows, [{ start_pending: false }]);
    assert.equal(
      (await h.temporal.workflow.count(`WorkflowId = "${workflowIdFor(body.orderId)}"`)).count,
      1,
    );
  });

  it('cancels an accepted order whose workflow has not started yet: the cancel starts it first', async () => {
    const { sku, body } = await newOrder();
    // Accepted this instant (the sweep leaves it to its API for a while): only the cancel can start it.
    await acceptWithoutStarting(body);
    const cancelled = await http(h, 'POST', `/orders/${body.orderId}/cancel`);
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    const done = await waitForOrder(h, body.orderId);
    assert.equal(done.status, 'CANCELLED');
    // The cancel reaches the workflow at its start or while the stock is reserved: nothing stays held.
    assert.ok(['SKIPPED', 'COMPENSATED'].includes(done.steps?.inventory.state ?? ''));
    assert.equal(done.steps?.payment.state, 'SKIPPED');
    const stock = await stockOf(sku);
    assert.deepEqual([stock.available, stock.reserved], [10, 0]);
    assert.equal(chargesFor(body.orderId), 0);
  });

  it('cancels an order in the same breath as it was placed: the cancel finds its workflow', async () => {
    const { sku, body } = await newOrder();
    const [placed, cancelled] = await Promise.all([
      http(h, 'POST', '/orders', body),
      // Sent once the order is committed, whether or not its workflow has started yet.
      (async () => {
        for (;;) {
          const r = await http(h, 'POST', `/orders/${body.orderId}/cancel`);
          if (r.status !== 404) return r;
        }
      })(),
    ]);
    assert.equal(placed.status, 202);
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    const done = await waitForOrder(h, body.orderId, hasStatus('CANCELLED'));
    assert.equal(done.steps?.shipping.state, 'SKIPPED');
    const stock = await stockOf(sku);
    assert.deepEqual([stock.available, stock.reserved], [10, 0]);
    assert.equal(chargesFor(body.orderId), 0);
  });

  it('takes orders posted all at once: each once, one per order id and per Idempotency-Key', async () => {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 100 });
    const body = (orderId?: string) =>
      orderBody({ ...(orderId ? { orderId } : {}), customerId: uniqueId('cust'), sku });
    const distinct = Array.from({ length: 30 }, () => uniqueId('ord'));
    const repeatedId = uniqueId('ord');
    const key = uniqueId('key');
    // Posted together, so many of them share one write to the orders table.
    const answers = await Promise.all([
      ...distinct.map((id) => http<{ orderId: string }>(h, 'POST', '/orders', body(id))),
      ...[1, 2, 3].map(() => http<{ orderId: string }>(h, 'POST', '/orders', body(repeatedId))),
      ...[1, 2, 3].map(() =>
        http<{ orderId: string }>(h, 'POST', '/orders', body(), { 'idempotency-key': key }),
      ),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 202),
    );
    const keyed = new Set(answers.slice(-3).map((a) => a.body.orderId));
    assert.equal(keyed.size, 1, `one order for the key, got ${[...keyed].join(', ')}`);
    const [keyedId] = [...keyed] as [string];
    assert.deepEqual(
      new Set(answers.slice(30, 33).map((a) => a.body.orderId)),
      new Set([repeatedId]),
    );
    const all = [...distinct, repeatedId, keyedId];
    const { rows } = await h.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM app.orders WHERE order_id = ANY($1) OR idempotency_key = $2',
      [all, key],
    );
    assert.equal(rows[0]?.n, all.length);
    for (const id of all) {
      assert.equal((await waitForOrder(h, id)).status, 'COMPLETED', id);
      assert.equal(chargesFor(id), 1, `charges of ${id}`);
    }
    const stock = await stockOf(sku);
    assert.deepEqual([stock.available, stock.reserved], [100 - 2 * all.length, 0]);
  });
});
