import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { Client } from '@temporalio/client';
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import type { LocalSecrets } from '../../src/platform/security/local-secrets';
import { originOf } from '../../src/platform/temporal/codec-server';
import { startCodecServer } from '../../src/processes/codec-server';
import { connectTemporal } from '../../src/platform/temporal/connection';
import { ENCRYPTED_ENCODING } from '../../src/platform/temporal/payload-codec';
import { createLogger } from '../../src/platform/logger';
import { uniqueId } from '../support/env';
import { hasStatus, http, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

type History = temporal.api.history.v1.IHistory;
interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

/** Every payload in a history (inputs, results, signals, markers, failures' encoded attributes…). */
function payloadsIn(node: unknown, out: temporal.api.common.v1.IPayload[] = []) {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
  const o = node as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') {
    out.push(o);
    return out;
  }
  for (const v of Object.values(o)) payloadsIn(v, out);
  return out;
}

const toJson = (p: temporal.api.common.v1.IPayload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

describe('payload encryption: what Temporal stores, and the codec server', function () {
  this.timeout(180_000);
  let h: Harness;
  let secrets: LocalSecrets;
  let codec: Awaited<ReturnType<typeof startCodecServer>>;
  let codecUrl: string;
  let plainConnection: Connection;
  let history: History;
  const uiOrigin = () => originOf(h.config.temporal.uiUrl);

  // Distinctive enough that finding any of them anywhere can only mean a leak.
  const customerName = 'Wilhelmina Quarterdeck-Zephyr';
  const street = '42 Quillfeather Mews';
  const city = 'Xanthorpe-on-Wold';
  const paymentRef = 'pm_zq7731_quillfeather';
  const orderId = uniqueId('enc');
  const workflowId = `order-${orderId}`;

  const codecCall = (
    path: string,
    opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${codecUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
        ...opts.headers,
      },
      body: JSON.stringify(opts.body ?? { payloads: [] }),
    });

  before(async function () {
    this.timeout(300_000);
    h = await startHarness();
    const found = readLocalSecrets(h.config.stack.dir);
    assert.ok(found, 'the test stack made its secrets');
    secrets = found;
    codec = await startCodecServer(
      { ...h.config, codecServer: { port: 0, tls: undefined } },
      createLogger('codec-test', 'fatal'),
    );
    codecUrl = `http://127.0.0.1:${codec.port}/codec`;
    plainConnection = await connectTemporal(h.config, 'cli');

    const operator = { authorization: `Bearer ${secrets.apiKeys.operator}` };
    const sku = uniqueId('sku');
    const stock = await http(h, 'PUT', `/inventory/${sku}`, { available: 5 }, operator);
    assert.equal(stock.status, 200, JSON.stringify(stock.body));
    const placed = await http(
      h,
      'POST',
      '/orders',
      {
        orderId,
        customerId: uniqueId('cust'),
        items: [{ sku, quantity: 1, unitPriceCents: 2_500 }],
        currency: 'EUR',
        shippingAddress: {
          name: customerName,
          line1: street,
          city,
          postalCode: 'XT1 9QZ',
          country: 'GB',
        },
        paymentMethod: paymentRef,
      },
      operator,
    );
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    // The app's own client decodes the result: the order completed with every payload encrypted.
    const result: unknown = await h.temporal.workflow.getHandle(workflowId).result();
    assert.equal((result as { status: string }).status, 'COMPLETED');

    // The raw history, through a client that has no codec: what the Temporal server stores.
    const events: temporal.api.history.v1.IHistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await plainConnection.workflowService.getWorkflowExecutionHistory({
        namespace: h.config.temporal.namespace,
        execution: { workflowId },
        nextPageToken,
      });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    history = { events };
  });

  after(async function () {
    this.timeout(60_000);
    await codec?.stop();
    await plainConnection?.close();
    await h?.stop();
  });

  it('stores no address, customer name or payment reference in clear in the workflow history', async () => {
    const serialized = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    const asText = [serialized.toString('latin1'), JSON.stringify(history)];
    for (const secret of [customerName, street, city, paymentRef, 'XT1 9QZ']) {
      for (const t of asText)
        assert.ok(!t.includes(secret), `"${secret}" is not in the raw history`);
    }
    // A client without the codec cannot read even the run's memo.
    const plain = new Client({
      connection: plainConnection,
      namespace: h.config.temporal.namespace,
    });
    await assert.rejects(
      plain.workflow.getHandle(workflowId).describe(),
      /Unknown encoding: binary\/encrypted/,
    );
    // The app's payloads are encrypted; what is left in clear is only the search attributes (status,
    // opaque customer id, total, time) and the tracing header.
    const payloads = payloadsIn(history);
    const encrypted = payloads.filter(
      (p) => Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING,
    );
    assert.ok(encrypted.length >= 10, `${encrypted.length} encrypted payloads in the history`);
  });

  it('decodes the same history through the codec server, for a key with the codec scope', async () => {
    const encrypted = payloadsIn(history).filter(
      (p) => Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING,
    );
    const res = await codecCall('/decode', {
      key: secrets.apiKeys.operator,
      headers: { 'x-namespace': h.config.temporal.namespace },
      body: { payloads: encrypted.map(toJson) },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { payloads: JsonPayload[] };
    assert.equal(body.payloads.length, encrypted.length);
    const decoded = body.payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8'));
    const all = decoded.join('\n');
    // Decoded, the payloads show the order; its personal data stays sealed even to an operator.
    assert.ok(all.includes(orderId), 'the decoded payloads show the order');
    assert.match(all, /"sealed":"pd1:/);
    for (const secret of [customerName, street, paymentRef])
      assert.ok(!all.includes(secret), `${secret} is sealed, even decoded`);
    for (const p of body.payloads)
      assert.notEqual(
        Buffer.from(p.metadata.encoding ?? '', 'base64').toString(),
        ENCRYPTED_ENCODING,
      );

    // And encodes: what it encodes, it decodes again.
    const clear = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"hi"').toString('base64'),
    };
    const enc = (await (
      await codecCall('/encode', { key: secrets.apiKeys.operator, body: { payloads: [clear] } })
    ).json()) as { payloads: JsonPayload[] };
    assert.equal(
      Buffer.from(enc.payloads[0]!.metadata.encoding!, 'base64').toString(),
      ENCRYPTED_ENCODING,
    );
    const dec = (await (
      await codecCall('/decode', { key: secrets.apiKeys.operator, body: enc })
    ).json()) as { payloads: JsonPayload[] };
    assert.deepEqual(dec.payloads[0], clear);
  });

  it('answers 401 without a key, 403 for a key without the codec scope, 400 for another namespace', async () => {
    const none = await codecCall('/decode');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal(
      (await codecCall('/decode', { key: 'not-a-key-of-this-deployment-000' })).status,
      401,
    );
    const client = await codecCall('/decode', { key: secrets.apiKeys.client });
    assert.equal(client.status, 403);
    assert.match(((await client.json()) as { message: string }).message, /lacks the scope "codec"/);
    const other = await codecCall('/decode', {
      key: secrets.apiKeys.operator,
      headers: { 'x-namespace': 'someone-else' },
    });
    assert.equal(other.status, 400);
  });

  it('decodes for a `codec` key but encodes only for `codec:encode`, and slows an address that keeps guessing keys', async () => {
    const reader = `reader-${crypto.randomBytes(16).toString('hex')}`;
    const writer = `writer-${crypto.randomBytes(16).toString('hex')}`;
    const own = await startCodecServer(
      {
        ...h.config,
        codecServer: { port: 0, tls: undefined },
        api: {
          ...h.config.api,
          anonymousRatePerMin: 3,
          keys: [
            { name: 'reader', scopes: ['codec'], secret: reader },
            { name: 'writer', scopes: ['codec', 'codec:encode'], secret: writer },
          ],
        },
      },
      createLogger('codec-rate', 'fatal'),
    );
    try {
      const call = (route: string, key: string) =>
        fetch(`http://127.0.0.1:${own.port}/codec${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ payloads: [] }),
        });
      assert.equal((await call('/decode', reader)).status, 200);
      const refused = await call('/encode', reader);
      assert.equal(refused.status, 403);
      assert.match(((await refused.json()) as { message: string }).message, /codec:encode/);
      assert.equal((await call('/encode', writer)).status, 200);
      const guesses: number[] = [];
      for (let n = 0; n < 5; n++)
        guesses.push((await call('/decode', `guess-${n}-0123456789abcdefg`)).status);
      assert.deepEqual(guesses, [401, 401, 401, 429, 429]);
      assert.equal((await call('/decode', reader)).status, 200, 'a valid key is not held back');
    } finally {
      await own.stop();
    }
  });

  it('refuses a tampered payload with 422, and a malformed body with 400', async () => {
    const [first] = payloadsIn(history).filter(
      (p) => Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING,
    );
    const tampered = toJson(first!);
    const data = Buffer.from(tampered.data, 'base64');
    data[data.length - 1] = data[data.length - 1]! ^ 1;
    tampered.data = data.toString('base64');
    const res = await codecCall('/decode', {
      key: secrets.apiKeys.operator,
      body: { payloads: [tampered] },
    });
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { message: string }).message, /failed authentication/);
    const bad = await codecCall('/decode', { key: secrets.apiKeys.operator, body: { payload: 1 } });
    assert.equal(bad.status, 400);
  });

  it('signs a browser in with a cookie that the UI sends with "include credentials"', async () => {
    const signIn = (key: string) =>
      fetch(`${codecUrl}/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key }).toString(),
      });
    assert.equal((await signIn('not-a-key-of-this-deployment-000')).status, 401);
    assert.equal((await signIn(secrets.apiKeys.client)).status, 403);
    const ok = await signIn(secrets.apiKeys.operator);
    assert.equal(ok.status, 200);
    const cookie = ok.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.ok(
      !cookie.includes(encodeURIComponent(secrets.apiKeys.operator)),
      'the cookie carries no key',
    );
    const forged = await codecCall('/decode', {
      headers: { cookie: 'shipshape_codec=made-up-token', origin: uiOrigin() },
    });
    assert.equal(forged.status, 401);
    const res = await codecCall('/decode', {
      headers: { cookie: cookie.split(';')[0]!, origin: uiOrigin() },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), uiOrigin());
  });

  it("lets the Temporal UI's origin through CORS, with credentials, and no other origin", async () => {
    const preflight = (origin: string) =>
      fetch(`${codecUrl}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const ui = await preflight(uiOrigin());
    assert.ok(ui.status < 300, `preflight answered ${ui.status}`);
    assert.equal(ui.headers.get('access-control-allow-origin'), uiOrigin());
    assert.equal(ui.headers.get('access-control-allow-credentials'), 'true');
    const allowed = (ui.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const header of ['authorization', 'x-namespace', 'content-type'])
      assert.ok(allowed.includes(header), `allows ${header}: ${allowed}`);

    const evil = await preflight('http://evil.example');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilPost = await codecCall('/decode', {
      key: secrets.apiKeys.operator,
      headers: { origin: 'http://evil.example' },
    });
    assert.equal(evilPost.headers.get('access-control-allow-origin'), null);
  });
});
