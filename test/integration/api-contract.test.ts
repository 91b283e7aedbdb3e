import assert from 'node:assert/strict';
import { orderStateQuery } from '../../workflows/definitions';
import { waitFor } from '../../src/platform/wait';
import { uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

describe('the API over HTTP: its published contract, and actions sent without a body (real stack)', function () {
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

  /** A POST with these headers and no body at all, as curl -X POST or many HTTP clients send it. */
  const postWithoutBody = (path: string, headers: Record<string, string>) =>
    fetch(`${h.apiUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.apiKey}`, ...headers },
    });

  it('publishes its OpenAPI 3.1 document and the docs page to callers without a key', async () => {
    const doc = await fetch(`${h.apiUrl}/openapi.json`);
    assert.equal(doc.status, 200);
    const spec = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(spec.openapi, '3.1.0');
    assert.ok(spec.paths['/orders/{orderId}/reconcile'], Object.keys(spec.paths).join(', '));
    const page = await fetch(`${h.apiUrl}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  });

  it('takes an empty body as {} on reconcile and cancel whatever its Content-Type; resolve still wants its action', async () => {
    const sku = uniqueId('sku');
    const orderId = uniqueId('empty-body');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 5 });
    // With the payment service down, the order waits in CHARGING_PAYMENT: there is something to act on.
    await h.stopService('payment');
    try {
      const placed = await http(
        h,
        'POST',
        '/orders',
        orderBody({ orderId, customerId: uniqueId('c'), sku }),
      );
      assert.equal(placed.status, 202);
      await waitForOrder(h, orderId, hasStatus('CHARGING_PAYMENT'));

      for (const headers of [
        { 'content-type': 'application/json' } as Record<string, string>,
        { 'content-type': 'application/json; charset=utf-8' },
        { 'content-type': 'text/plain' },
        {},
      ]) {
        const r = await postWithoutBody(`/orders/${orderId}/reconcile`, headers);
        assert.equal(r.status, 202, `reconcile with ${JSON.stringify(headers)}: ${await r.text()}`);
      }
      const workflow = h.temporal.workflow.getHandle(`order-${orderId}`);
      await waitFor('the workflow to take the reconciles', async () => {
        const view = await workflow.query(orderStateQuery);
        return (view.reconciled?.length ?? 0) > 0;
      });

      const resolve = await postWithoutBody(`/orders/${orderId}/resolve`, {
        'content-type': 'application/json',
      });
      assert.equal(resolve.status, 400);
      const refusal = (await resolve.json()) as { issues: { field: string }[] };
      assert.deepEqual(
        refusal.issues.map((i) => i.field),
        ['action'],
      );

      const cancel = await postWithoutBody(`/orders/${orderId}/cancel`, {
        'content-type': 'application/json',
      });
      assert.equal(cancel.status, 202, await cancel.text());
    } finally {
      await h.startService('payment');
    }
    assert.equal((await waitForOrder(h, orderId)).status, 'CANCELLED');
  });

  it('answers stock and points reads with 503 and Retry-After while the owning service is down, and again once it is back', async () => {
    const sku = uniqueId('sku');
    const customerId = uniqueId('c');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 4 })).status, 200);
    await h.stopService('inventory');
    await h.stopService('loyalty');
    try {
      for (const [method, path, body] of [
        ['GET', `/inventory/${sku}`, undefined],
        ['PUT', `/inventory/${sku}`, { available: 9 }],
        ['GET', `/customers/${customerId}/points`, undefined],
      ] as const) {
        const started = Date.now();
        const r = await fetch(`${h.apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await r.text();
        assert.equal(r.status, 503, `${method} ${path}: ${text}`);
        assert.ok(Number(r.headers.get('retry-after')) > 0, `${method} ${path}: Retry-After`);
        assert.match(text, /service_unavailable/);
        // Within the stated time (QUERY_TIMEOUT_MS, 2 s), not a hung request.
        assert.ok(
          Date.now() - started < 5_000,
          `${method} ${path} took ${Date.now() - started} ms`,
        );
      }
    } finally {
      await h.startService('inventory');
      await h.startService('loyalty');
    }
    // Nothing was set while inventory was down; it answers again once it runs.
    await waitFor('inventory to answer again', async () => {
      const r = await http<{ available: number }>(h, 'GET', `/inventory/${sku}`);
      return r.status === 200 && r.body.available === 4;
    });
    const points = await http<{ points: number }>(h, 'GET', `/customers/${customerId}/points`);
    assert.equal(points.status, 200);
    assert.equal(points.body.points, 0);
  });
});
