import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../../src/orders/api/bodies';
import { MAX_ITEMS, MAX_UNIT_PRICE_CENTS } from '../../src/domain/schemas';
import { bearer, invalidRequests, json, validOrder } from '../support/invalid-requests';
import type { Req } from '../support/invalid-requests';
import { createLogger } from '../../src/platform/logger';
import { buildTestApi, CLIENT, CODEC, OPERATOR } from '../support/api-stand-ins';
import type { Recorder } from '../support/api-stand-ins';
import { waitFor } from '../../src/platform/wait';

const SECRETS = [CLIENT, OPERATOR, CODEC];

const invalidRequest = invalidRequests({ client: CLIENT, operator: OPERATOR, codec: CODEC });

describe('the API refuses invalid requests', function () {
  this.timeout(120_000);
  const rec: Recorder = { calls: [], logs: [] };
  let app: FastifyInstance;

  before(async () => {
    app = buildTestApi(rec, 10_000_000);
    await app.ready();
  });
  after(() => app.close());
  beforeEach(() => {
    rec.calls.length = 0;
    rec.logs.length = 0;
  });

  it('lets valid requests through with the right key (so the stand-ins do see calls)', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...bearer(CLIENT), ...json },
      payload: JSON.stringify(validOrder()),
    });
    assert.equal(r.statusCode, 202, r.body);
    const get = await app.inject({
      method: 'GET',
      url: '/orders/order-1',
      headers: { 'x-api-key': CLIENT },
    });
    assert.equal(get.statusCode, 404);
    const put = await app.inject({
      method: 'PUT',
      url: '/inventory/SKU-1',
      headers: { ...bearer(OPERATOR), ...json },
      payload: '{"available":3}',
    });
    assert.equal(put.statusCode, 200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: bearer(OPERATOR) });
    assert.equal(metrics.statusCode, 200);
    assert.deepEqual(rec.calls, ['place', 'get', 'ask inventory stock.set']);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('accepts the largest valid order within the body limit', async () => {
    const o = validOrder();
    const big = {
      ...o,
      paymentMethod: 'ü'.repeat(100),
      shippingAddress: {
        name: 'ü'.repeat(200),
        line1: 'ü'.repeat(200),
        line2: 'ü'.repeat(200),
        city: 'ü'.repeat(100),
        postalCode: 'ü'.repeat(20),
        country: 'GB',
      },
      items: Array.from({ length: MAX_ITEMS }, (_, i) => ({
        sku: `s${String(i).padStart(63, '0')}`,
        quantity: 1,
        unitPriceCents: MAX_UNIT_PRICE_CENTS,
      })),
    };
    const payload = JSON.stringify(big, null, 2);
    assert.ok(Buffer.byteLength(payload) < MAX_BODY_BYTES);
    const r = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...bearer(CLIENT), ...json },
      payload,
    });
    assert.equal(r.statusCode, 202, r.body);
  });

  it('answers 401, 403, 400, 413 and 415 in its own words, naming each bad field', async () => {
    const send = (req: Omit<Req, 'why'>) => app.inject(req);
    const noKey = await send({ method: 'GET', url: '/orders/order-1', headers: {} });
    assert.equal(noKey.statusCode, 401);
    assert.equal(noKey.json<{ error: string }>().error, 'unauthorized');
    assert.equal(noKey.headers['www-authenticate'], 'Bearer');
    const scope = await send({
      method: 'PUT',
      url: '/inventory/a',
      headers: { ...bearer(CLIENT), ...json },
      payload: '{"available":1}',
    });
    assert.equal(scope.statusCode, 403);
    assert.deepEqual(scope.json(), {
      error: 'forbidden',
      message: 'the API key "shop" lacks the scope "operate" that this needs',
    });
    const bad = await send({
      method: 'POST',
      url: '/orders',
      headers: { ...bearer(CLIENT), ...json },
      payload: JSON.stringify({
        ...validOrder(),
        discount: 50,
        items: [{ sku: 'a b', quantity: 0, unitPriceCents: 1.5, colour: 'red' }],
      }),
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(
      bad
        .json<{ issues: { field: string }[] }>()
        .issues.map((i) => i.field)
        .sort(),
      ['discount', 'items.0.colour', 'items.0.quantity', 'items.0.sku', 'items.0.unitPriceCents'],
    );
    const secretInJson = await send({
      method: 'POST',
      url: '/orders',
      headers: { ...bearer(CLIENT), ...json },
      payload: `{"customerId": ${CLIENT}}`,
    });
    assert.deepEqual(secretInJson.json(), {
      error: 'invalid_json',
      message: 'the body is not valid JSON',
    });
    const tooBig = await send({
      method: 'POST',
      url: '/orders',
      headers: { ...bearer(CLIENT), ...json },
      payload: `{"a":"${'x'.repeat(MAX_BODY_BYTES)}"}`,
    });
    assert.equal(tooBig.statusCode, 413);
    const text = await send({
      method: 'POST',
      url: '/orders',
      headers: { ...bearer(CLIENT), 'content-type': 'text/plain' },
      payload: JSON.stringify(validOrder()),
    });
    assert.equal(text.statusCode, 415);
    assert.deepEqual(rec.calls, []);
    // Each kind of refusal has its line, naming the caller (the key's name, or the address), never a
    // secret; the second 400 of the same key within the minute is counted, not logged again.
    const refused = rec.logs
      .map((l) => JSON.parse(l) as { msg: string; status?: number; apiKey?: string })
      .filter((l) => l.msg.startsWith('request refused'));
    assert.deepEqual(
      refused.map((l) => l.status),
      [401, 403, 400, 413, 415],
    );
    assert.equal(refused[1]?.apiKey, 'shop');
  });

  it('names every bad part of a request at once: its path, its body and its headers', async () => {
    const fields = async (req: Omit<Req, 'why'>) => {
      const r = await app.inject(req);
      assert.equal(r.statusCode, 400, r.body);
      const body = r.json<{ error: string; issues: { field: string }[] }>();
      assert.equal(body.error, 'invalid_request');
      return body.issues.map((i) => i.field).sort();
    };
    assert.deepEqual(
      await fields({
        method: 'POST',
        url: '/orders/_bad/cancel',
        headers: { ...bearer(OPERATOR), ...json },
        payload: '{"reason":5,"extra":1,"$9 data":2}',
      }),
      ['(unknown field)', 'extra', 'orderId', 'reason'],
    );
    assert.deepEqual(
      await fields({
        method: 'PUT',
        url: '/inventory/%20bad',
        headers: { ...bearer(OPERATOR), ...json },
        payload: '{"available":-1}',
      }),
      ['available', 'sku'],
    );
    const noCurrency: Partial<ReturnType<typeof validOrder>> = validOrder();
    delete noCurrency.currency;
    assert.deepEqual(
      await fields({
        method: 'POST',
        url: '/orders',
        headers: { ...bearer(CLIENT), ...json, 'idempotency-key': 'has space' },
        payload: JSON.stringify(noCurrency),
      }),
      ['Idempotency-Key', 'currency'],
    );
    assert.deepEqual(rec.calls, []);
  });

  it('takes a wait only as the contract says: a known point, whole seconds from 1 to 60', async () => {
    const post = (query: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: `/orders${query}`,
        headers: { ...bearer(CLIENT), ...json, ...headers },
        payload: JSON.stringify(validOrder()),
      });
    const bad = await post('?wait=delivered', { prefer: 'respond-async, wait=61' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json<{ issues: unknown[] }>().issues, [
      { field: 'wait', message: 'Invalid option: expected one of "accepted"|"paid"|"shipped"' },
      { field: 'Prefer', message: 'wait must be whole seconds from 1 to 60' },
    ]);
    assert.deepEqual(rec.calls, []);
    // The stand-in's wait runs out at once: the usual 202, saying the preference was applied.
    const waited = await post('?wait=shipped', { prefer: 'return=minimal, wait="5"' });
    assert.equal(waited.statusCode, 202, waited.body);
    assert.equal(waited.headers['preference-applied'], 'wait=5');
    const pointOnly = await post('?wait=accepted');
    assert.equal(pointOnly.statusCode, 202);
    assert.equal(pointOnly.headers['preference-applied'], undefined);
    // Other preferences alone ask for no wait.
    assert.equal((await post('', { prefer: 'respond-async' })).statusCode, 202);
    assert.deepEqual(rec.calls, ['placeAndWait', 'placeAndWait', 'place']);
  });

  it('keeps no caller waiting when it stops: each wait in flight answers its 202', async function () {
    this.timeout(10_000);
    const held: Recorder = { calls: [], logs: [], holdWaits: true };
    const api = buildTestApi(held, 1_000);
    await api.ready();
    const waiting = api.inject({
      method: 'POST',
      url: '/orders?wait=shipped',
      headers: { ...bearer(CLIENT), ...json, prefer: 'wait=60' },
      payload: JSON.stringify(validOrder()),
    });
    await waitFor('the wait to begin', () => held.calls.includes('placeAndWait'));
    await api.close();
    assert.equal((await waiting).statusCode, 202);
  });

  it('refuses 10,000 generated invalid requests with a 4xx, calling nothing and echoing no secret', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(invalidRequest, async (req) => {
        rec.calls.length = 0;
        const r = await app.inject({
          method: req.method,
          url: req.url,
          headers: req.headers,
          ...(req.payload !== undefined ? { payload: req.payload } : {}),
        });
        statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        assert.ok(
          r.statusCode >= 400 && r.statusCode < 500,
          `${req.why}: ${r.statusCode} ${r.body}`,
        );
        assert.deepEqual(rec.calls, [], `${req.why}: the API called ${rec.calls.join(', ')}`);
        for (const s of SECRETS)
          assert.ok(!r.body.includes(s), `${req.why}: the answer holds a key`);
        if (req.payload && req.payload.length > 30) {
          assert.ok(!r.body.includes(req.payload), `${req.why}: the answer echoes the body`);
        }
      }),
      { numRuns: 10_000 },
    );
    // Each kind of refusal was exercised.
    for (const status of [400, 401, 403, 404, 413, 415]) {
      assert.ok(
        (statuses.get(status) ?? 0) > 0,
        `some ${status}: ${JSON.stringify([...statuses])}`,
      );
    }
    for (const line of rec.logs)
      for (const s of SECRETS) assert.ok(!line.includes(s), 'a log line holds a key');
  });

  it('limits each key to its rate and says when to retry', async () => {
    const limited = buildTestApi({ calls: [], logs: [] }, 3);
    try {
      const get = (key: string) =>
        limited.inject({ method: 'GET', url: '/orders/order-1', headers: bearer(key) });
      for (let i = 0; i < 3; i++) assert.equal((await get(CLIENT)).statusCode, 404);
      const over = await get(CLIENT);
      assert.equal(over.statusCode, 429);
      const refusal = over.json<{ error: string; message: string }>();
      assert.equal(refusal.error, 'rate_limited');
      assert.match(refusal.message, /more than 3 requests a minute with the key "shop"/);
      assert.ok(Number(over.headers['retry-after']) > 0);
      // Another key has its own allowance; /healthz is never limited.
      assert.equal((await get(OPERATOR)).statusCode, 404);
      for (let i = 0; i < 5; i++)
        assert.equal((await limited.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    } finally {
      await limited.close();
    }
  });

  it('counts wrong keys against the address, 401s included, and answers 429 past its allowance', async () => {
    const logs: string[] = [];
    const limited = buildTestApi({ calls: [], logs }, 100, 3);
    try {
      const wrong = (url: string) =>
        limited.inject({ method: 'GET', url, headers: bearer(`${CLIENT}-guess`) });
      for (const url of ['/orders/order-1', '/no-such-route', '/orders/order-2'])
        assert.equal((await wrong(url)).statusCode, 401, url);
      for (const url of ['/orders/order-1', '/no-such-route']) {
        const over = await wrong(url);
        assert.equal(over.statusCode, 429, url);
        assert.match(
          over.json<{ message: string }>().message,
          /more than 3 requests a minute from this address without a valid API key/,
        );
        assert.ok(Number(over.headers['retry-after']) > 0);
      }
      // A valid key from the same address has its own allowance.
      const right = await limited.inject({
        method: 'GET',
        url: '/orders/order-1',
        headers: bearer(CLIENT),
      });
      assert.equal(right.statusCode, 404);
      // One line per caller and kind a minute, however many came.
      const refused = logs
        .map((l) => JSON.parse(l) as { msg: string; status: number; address?: string })
        .filter((l) => l.msg.startsWith('request refused'));
      assert.deepEqual(
        refused.map((l) => [l.status, l.msg]),
        [
          [401, 'request refused: no valid API key'],
          [429, 'request refused: over the rate limit'],
        ],
      );
      assert.equal(refused[0]?.address, '127.0.0.1');
      const metrics = await limited.inject({
        method: 'GET',
        url: '/metrics',
        headers: bearer(OPERATOR),
      });
      const answered = (status: number) =>
        [
          ...metrics.body.matchAll(
            new RegExp(
              `^shipshape_http_requests_total\\{[^}]*status="${status}"[^}]*\\} (\\d+)$`,
              'gm',
            ),
          ),
        ].reduce((sum, m) => sum + Number(m[1]), 0);
      assert.deepEqual([answered(401), answered(429)], [3, 2]);
    } finally {
      await limited.close();
    }
  });

  it('redacts credentials from log lines', () => {
    const lines: string[] = [];
    const log = createLogger(
      'redact-test',
      'info',
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    log.error(
      { req: { headers: { authorization: `Bearer ${OPERATOR}`, 'x-api-key': CLIENT } } },
      'failed',
    );
    log.info({ headers: { authorization: `Bearer ${OPERATOR}` } }, 'outgoing');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.ok(!line.includes(OPERATOR) && !line.includes(CLIENT), line);
      assert.match(line, /\[redacted\]/);
    }
  });
});
