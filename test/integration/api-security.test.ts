import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLogger } from '../../src/platform/logger';
import { startApi } from '../../src/processes/api';
import type { Component } from '../../src/processes/resources';
import { waitFor } from '../../src/platform/wait';
import { uniqueId } from '../support/env';
import { authHeaders, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { invalidRequests } from '../support/invalid-requests';

describe('the API wants a key, holds each key to its scopes and rate, and refuses bad input (real stack)', function () {
  this.timeout(180_000);
  let h: Harness;
  let keys: { client: string; operator: string };
  const asClient = () => ({ apiUrl: h.apiUrl, apiKey: keys.client });
  const anonymous = () => ({ apiUrl: h.apiUrl });

  before(async function () {
    this.timeout(180_000);
    h = await startHarness();
    assert.ok(h.apiKeys, "the local stack's secrets file holds API keys");
    keys = h.apiKeys;
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
  });

  const ordersIn = async (customerId: string) =>
    (
      await h.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM app.orders WHERE customer_id = $1',
        [customerId],
      )
    ).rows[0]!.n;
  const workflowsOnQueue = async () =>
    (await h.temporal.workflow.count(`TaskQueue = "${h.config.temporal.taskQueue}"`)).count;

  it('answers 401 to a call without a key or with an unknown one, and starts nothing', async () => {
    const customerId = uniqueId('anon');
    const sku = uniqueId('sku');
    const body = orderBody({ orderId: uniqueId('anon-order'), customerId, sku });
    for (const [method, path, b] of [
      ['POST', '/orders', body],
      ['GET', `/orders/${body.orderId}`, undefined],
      ['POST', `/orders/${body.orderId}/cancel`, undefined],
      ['PUT', `/inventory/${sku}`, { available: 1 }],
      ['GET', '/metrics', undefined],
      ['GET', '/no-such-route', undefined],
    ] as const) {
      const r = await http(anonymous(), method, path, b);
      assert.equal(r.status, 401, `${method} ${path} without a key`);
      assert.equal(r.body.error, 'unauthorized');
      const wrong = await http(anonymous(), method, path, b, {
        // The operator's key with its last character changed.
        authorization: `Bearer ${keys.operator.slice(0, -1)}${keys.operator.endsWith('x') ? 'y' : 'x'}`,
      });
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong key`);
    }
    assert.deepEqual((await http(anonymous(), 'GET', '/healthz')).body, { ok: true });
    assert.equal(await ordersIn(customerId), 0);
  });

  it('answers 403 to the client key on an operator route', async () => {
    const sku = uniqueId('sku');
    for (const [method, path, b] of [
      ['PUT', `/inventory/${sku}`, { available: 5 }],
      ['GET', `/inventory/${sku}`, undefined],
      ['POST', '/orders/some-order/cancel', undefined],
      ['POST', '/orders/some-order/reconcile', {}],
      ['POST', '/orders/some-order/resolve', { action: 'retry' }],
    ] as const) {
      const r = await http(asClient(), method, path, b);
      assert.equal(r.status, 403, `${method} ${path} with the client key`);
      assert.equal(r.body.error, 'forbidden');
      assert.match(String(r.body.message), /lacks the scope "operate"/);
    }
    const metrics = await http(asClient(), 'GET', '/metrics');
    assert.equal(metrics.status, 403);
    assert.match(String(metrics.body.message), /lacks the scope "metrics"/);
    // The operator key may: the same SKU is still unknown, so the refusal above set nothing.
    assert.equal((await http(h, 'GET', `/inventory/${sku}`)).status, 404);
  });

  it('lets the client key place and read an order that then completes; the operator key operates', async () => {
    const sku = uniqueId('sku');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 5 })).status, 200);
    const orderId = uniqueId('client-order');
    const customerId = uniqueId('client');
    const placed = await http(
      asClient(),
      'POST',
      '/orders',
      orderBody({ orderId, customerId, sku }),
    );
    assert.equal(placed.status, 202);
    assert.equal(placed.body.orderId, orderId);
    const done = await waitForOrder(asClient(), orderId);
    assert.equal(done.status, 'COMPLETED');
    // X-Api-Key works as well as a bearer token.
    const read = await http(anonymous(), 'GET', `/orders/${orderId}`, undefined, {
      'x-api-key': keys.client,
    });
    assert.equal(read.status, 200);
    assert.equal(
      (await http(asClient(), 'GET', `/customers/${customerId}/points`)).body.points,
      21,
    );
    // Past the key check, the operator gets the order's own answer: too late to cancel.
    assert.equal((await http(h, 'POST', `/orders/${orderId}/cancel`)).status, 409);
    const metrics = await fetch(`${h.apiUrl}/metrics`, { headers: authHeaders(h) });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /shipshape_http_requests_total\{[^}]*status="401"/);
  });

  it('answers 429 with Retry-After once a key passes its rate, other keys unaffected', async () => {
    const config = { ...h.config, api: { ...h.config.api, port: 0, ratePerMin: 5 } };
    let limited: (Component & { port: number }) | undefined;
    try {
      limited = await startApi(config, createLogger('test-limited-api', 'fatal'));
      const url = `http://127.0.0.1:${limited.port}`;
      const get = (key: string) =>
        fetch(`${url}/orders/${uniqueId('none')}`, { headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 5; i++) assert.equal((await get(keys.client)).status, 404);
      const over = await get(keys.client);
      assert.equal(over.status, 429);
      assert.ok(Number(over.headers.get('retry-after')) > 0, 'Retry-After in seconds');
      const body = (await over.json()) as { error: string; message: string };
      assert.equal(body.error, 'rate_limited');
      assert.ok(!JSON.stringify(body).includes(keys.client));
      assert.equal((await get(keys.operator)).status, 404);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      await limited?.stop();
    }
  });

  it('counts repeated wrong keys against their address and answers 429 once past its allowance', async () => {
    const config = { ...h.config, api: { ...h.config.api, port: 0, anonymousRatePerMin: 4 } };
    let limited: (Component & { port: number }) | undefined;
    try {
      limited = await startApi(config, createLogger('test-limited-api', 'fatal'));
      const url = `http://127.0.0.1:${limited.port}`;
      const guess = (n: number) =>
        fetch(`${url}/orders/${uniqueId('none')}`, {
          headers: { authorization: `Bearer guess-${n}-0123456789abcdefghijkl` },
        });
      const statuses: number[] = [];
      for (let n = 0; n < 6; n++) statuses.push((await guess(n)).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429]);
      const over = await guess(6);
      assert.ok(Number(over.headers.get('retry-after')) > 0, 'Retry-After in seconds');
      assert.match(
        ((await over.json()) as { message: string }).message,
        /from this address without a valid API key/,
      );
      // The right key, from the same address, is not held back by the guesses.
      const right = await fetch(`${url}/orders/${uniqueId('none')}`, {
        headers: { authorization: `Bearer ${keys.client}` },
      });
      assert.equal(right.status, 404);
      const metrics = await (
        await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${keys.operator}` } })
      ).text();
      assert.match(metrics, /shipshape_http_requests_total\{[^}]*status="429"[^}]*\} 3/);
    } finally {
      await limited?.stop();
    }
  });

  it("lets Prometheus's metrics-only key read /metrics and nothing else", async () => {
    const prometheus = `metrics-${crypto.randomBytes(24).toString('hex')}`;
    const config = {
      ...h.config,
      api: {
        ...h.config.api,
        port: 0,
        keys: [{ name: 'prometheus', scopes: ['metrics' as const], secret: prometheus }],
      },
    };
    const api = await startApi(config, createLogger('test-metrics-api', 'fatal'));
    try {
      const scraper = { apiUrl: `http://127.0.0.1:${api.port}`, apiKey: prometheus };
      const scrape = await fetch(`${scraper.apiUrl}/metrics`, {
        headers: { authorization: `Bearer ${prometheus}` },
      });
      assert.equal(scrape.status, 200);
      assert.match(await scrape.text(), /shipshape_http_requests_total/);
      for (const [method, path, b] of [
        ['GET', `/orders/${uniqueId('none')}`, undefined],
        ['POST', '/orders', orderBody({ customerId: 'scraper', sku: uniqueId('sku') })],
        ['GET', `/inventory/${uniqueId('sku')}`, undefined],
        ['POST', '/orders/some-order/cancel', undefined],
      ] as const) {
        const r = await http(scraper, method, path, b);
        assert.equal(r.status, 403, `${method} ${path} with the metrics key`);
      }
    } finally {
      await api.stop();
    }
  });

  it('refuses 300 generated invalid requests with a 4xx and starts no workflow for them', async () => {
    const customerId = uniqueId('fuzz');
    const orderId = uniqueId('fuzz-order');
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 5 });
    // A settled count first: the earlier tests' workflows are all visible.
    let before = -1;
    await waitFor(
      'the workflow count to settle',
      async () => {
        const n = await workflowsOnQueue();
        const settled = n === before;
        before = n;
        return settled;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    const statuses = new Map<number, number>();
    let unsendable = 0;
    await fc.assert(
      fc.asyncProperty(invalidRequests({ ...keys, orderId, customerId }), async (req) => {
        let res: Response;
        try {
          res = await fetch(`${h.apiUrl}${req.url}`, {
            method: req.method,
            headers: req.headers,
            ...(req.payload !== undefined ? { body: req.payload } : {}),
          });
        } catch (err) {
          // A header value fetch itself will not send (e.g. beyond Latin-1): nothing reached the API.
          if (err instanceof TypeError && err.message !== 'fetch failed') {
            unsendable++;
            return;
          }
          throw err;
        }
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status >= 400 && res.status < 500, `${req.why}: ${res.status} ${text}`);
        assert.ok(!text.includes(keys.client) && !text.includes(keys.operator), req.why);
      }),
      { numRuns: 300 },
    );
    assert.ok(unsendable < 15, `${unsendable} of 300 could not be sent`);
    for (const status of [400, 401, 403])
      assert.ok(
        (statuses.get(status) ?? 0) > 0,
        `some ${status}: ${JSON.stringify([...statuses])}`,
      );

    // One valid order after them: once its workflow is visible, the count says what they started.
    const sentinel = await http(h, 'POST', '/orders', orderBody({ customerId, sku }));
    assert.equal(sentinel.status, 202);
    await waitFor(
      'the valid order to be visible',
      async () => (await workflowsOnQueue()) > before,
      {
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    assert.equal(await workflowsOnQueue(), before + 1, 'only the valid order started a workflow');
    assert.equal(await ordersIn(customerId), 1, 'only the valid order was recorded');
  });
});
