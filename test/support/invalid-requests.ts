import fc from 'fast-check';
import { SAMPLE_ADDRESS } from '../../src/client/order-body';
import { MAX_BODY_BYTES } from '../../src/orders/api/bodies';
import { MAX_ITEMS, MAX_QUANTITY, MAX_UNIT_PRICE_CENTS } from '../../src/domain/schemas';

/**
 * Generated requests the API must refuse: each is a valid request broken one way (credentials, scope,
 * body, content type, size, id format, route), so any 2xx or 5xx answer is a bug.
 */

/** A valid order, to be broken one way at a time. */
export const validOrder = (orderId = 'order-1', customerId = 'cust-1') => ({
  orderId,
  customerId,
  items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 1050 }],
  currency: 'EUR',
  shippingAddress: { ...SAMPLE_ADDRESS },
  paymentMethod: 'card',
});

export interface Req {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** Why this request is invalid, for the failure message. */
  why: string;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const json = { 'content-type': 'application/json' };

// ---- generators of values that are wrong for a field ----

const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);
const notANumber = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);
const idChar = fc.constantFrom(...'abcXYZ019_.-');
/** Strings no id or SKU may be: empty, too long, a bad first character, a character outside the set. */
const badId = fc.oneof(
  fc.constant(''),
  fc.string({ unit: idChar, minLength: 65, maxLength: 90 }).map((s) => `a${s}`),
  fc
    .tuple(fc.constantFrom('_', '-', '.'), fc.string({ unit: idChar, maxLength: 10 }))
    .map(([a, b]) => a + b),
  fc
    .tuple(
      fc.string({ unit: idChar, maxLength: 10 }),
      fc.constantFrom(' ', '/', '?', '#', '%', 'é', '\u0000', '\n', ':', '*', '"', "'", '<'),
      fc.string({ unit: idChar, maxLength: 10 }),
    )
    .map(([a, c, b]) => `a${a}${c}${b}`),
);
const badQuantity = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: MAX_QUANTITY + 1 }),
  fc.double({ min: 0.01, max: 100, noInteger: true }),
  notANumber,
);
const badCents = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: MAX_UNIT_PRICE_CENTS + 1 }),
  fc.double({ min: 0.01, max: 1e6, noInteger: true }),
  notANumber,
);
const badCurrency = fc.oneof(
  fc.constantFrom('eur', 'EU', 'EURO', '', '€', '123', 'E R'),
  fc.string({ maxLength: 6 }).filter((s) => !/^[A-Z]{3}$/.test(s)),
  notAString,
);
const controlChar = fc.integer({ min: 0, max: 31 }).filter((c) => ![9, 10, 13].includes(c));
const badText = (max: number) =>
  fc.oneof(
    fc.string({ minLength: max + 1, maxLength: max + 20 }),
    fc.tuple(fc.string({ maxLength: 10 }), controlChar).map(([s, c]) => s + String.fromCharCode(c)),
    notAString.filter((v) => v !== null),
  );
const unknownFieldName = fc.oneof(
  fc.constantFrom('admin', 'status', 'totalCents', 'workflowId', 'discount', '__proto__x'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

type Order = Record<string, unknown> & {
  items: Record<string, unknown>[];
  shippingAddress: Record<string, unknown>;
};

/** One way to break a valid order: each returns a body that must be refused with 400. */
const orderFault: fc.Arbitrary<{ why: string; mutate: (o: Order) => unknown }> = fc.oneof(
  unknownFieldName.map((k) => ({
    why: `unknown top-level field ${JSON.stringify(k)}`,
    mutate: (o: Order) => ({ ...o, [k in o ? `${k}_extra` : k]: 1 }),
  })),
  unknownFieldName.map((k) => ({
    why: `unknown item field ${JSON.stringify(k)}`,
    mutate: (o: Order) => ({
      ...o,
      items: [{ ...o.items[0], [k in o.items[0]! ? `${k}_x` : k]: 1 }],
    }),
  })),
  unknownFieldName.map((k) => ({
    why: `unknown address field ${JSON.stringify(k)}`,
    mutate: (o: Order) => ({
      ...o,
      shippingAddress: { ...o.shippingAddress, [k in o.shippingAddress ? `${k}_x` : k]: 'x' },
    }),
  })),
  fc.constantFrom('customerId', 'items', 'currency', 'shippingAddress').map((k) => ({
    why: `missing ${k}`,
    mutate: (o: Order) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k)),
  })),
  fc.constantFrom('sku', 'quantity', 'unitPriceCents').map((k) => ({
    why: `item without ${k}`,
    mutate: (o: Order) => ({
      ...o,
      items: [Object.fromEntries(Object.entries(o.items[0]!).filter(([key]) => key !== k))],
    }),
  })),
  fc.constantFrom('line1', 'city', 'country').map((k) => ({
    why: `address without ${k}`,
    mutate: (o: Order) => ({
      ...o,
      shippingAddress: Object.fromEntries(
        Object.entries(o.shippingAddress).filter(([key]) => key !== k),
      ),
    }),
  })),
  badId.map((v) => ({ why: 'bad orderId', mutate: (o: Order) => ({ ...o, orderId: v }) })),
  fc.oneof(badId, notAString).map((v) => ({
    why: 'bad customerId',
    mutate: (o: Order) => ({ ...o, customerId: v }),
  })),
  fc.oneof(badId, notAString).map((v) => ({
    why: 'bad sku',
    mutate: (o: Order) => ({ ...o, items: [{ ...o.items[0], sku: v }] }),
  })),
  badQuantity.map((v) => ({
    why: `bad quantity ${JSON.stringify(v)}`,
    mutate: (o: Order) => ({ ...o, items: [{ ...o.items[0], quantity: v }] }),
  })),
  badCents.map((v) => ({
    why: `bad unitPriceCents ${JSON.stringify(v)}`,
    mutate: (o: Order) => ({ ...o, items: [{ ...o.items[0], unitPriceCents: v }] }),
  })),
  badCurrency.map((v) => ({ why: 'bad currency', mutate: (o: Order) => ({ ...o, currency: v }) })),
  fc.constantFrom('name', 'line1', 'line2', 'city', 'postalCode').chain((k) =>
    badText(k === 'postalCode' ? 20 : k === 'city' ? 100 : 200).map((v) => ({
      why: `bad address ${k}`,
      mutate: (o: Order) => ({ ...o, shippingAddress: { ...o.shippingAddress, [k]: v } }),
    })),
  ),
  fc.oneof(badText(500), fc.constantFrom('', '   ')).map((v) => ({
    why: 'bad address text',
    mutate: (o: Order) => ({ ...o, shippingAddress: v }),
  })),
  fc.oneof(fc.constantFrom('gb', 'GBR', 'G', ''), notAString).map((v) => ({
    why: 'bad country',
    mutate: (o: Order) => ({ ...o, shippingAddress: { ...o.shippingAddress, country: v } }),
  })),
  fc.oneof(badText(100), fc.constant('')).map((v) => ({
    why: 'bad paymentMethod',
    mutate: (o: Order) => ({ ...o, paymentMethod: v }),
  })),
  fc
    .oneof(
      fc.constant([]),
      notANumber.filter((v) => !Array.isArray(v)),
    )
    .map((v) => ({
      why: 'items empty or not a list',
      mutate: (o: Order) => ({ ...o, items: v }),
    })),
  fc.integer({ min: MAX_ITEMS + 1, max: MAX_ITEMS + 50 }).map((n) => ({
    why: `${n} items`,
    mutate: (o: Order) => ({
      ...o,
      items: Array.from({ length: n }, (_, i) => ({ ...o.items[0], sku: `s-${i}` })),
    }),
  })),
  fc.constant({
    why: 'total above the limit',
    mutate: (o: Order) => ({
      ...o,
      items: [{ sku: 'a', quantity: MAX_QUANTITY, unitPriceCents: MAX_UNIT_PRICE_CENTS }],
    }),
  }),
  fc
    .oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 20 }), fc.array(fc.nat()))
    .map((v) => ({ why: `body ${JSON.stringify(v)}`, mutate: () => v })),
);

/** Bodies that are not JSON at all, or not the JSON they claim to be. */
const brokenJson = fc.oneof(
  fc.constantFrom('{', '{"customerId":', "{'a':1}", '[1,2', 'undefined', '{"a":1}}', 'NaN'),
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
  fc.constant('{"__proto__":{"admin":true},"customerId":"c"}'),
  fc.constant('{"constructor":{"prototype":{"admin":true}}}'),
);

const wrongContentType = fc.constantFrom(
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'text/html',
  'application/octet-stream',
  'image/png',
);

/**
 * Invalid requests of every kind, made with the given keys (`codec`, when given, is a key with only
 * the codec scope). Valid parts use `orderId` and `customerId`, so a test can look for their traces.
 */
export function invalidRequests(opts: {
  client: string;
  operator: string;
  codec?: string;
  orderId?: string;
  customerId?: string;
}): fc.Arbitrary<Req> {
  const { client: CLIENT, operator: OPERATOR, codec: CODEC } = opts;
  const orderId = opts.orderId ?? 'order-1';
  const customerId = opts.customerId ?? 'cust-1';
  const okPath = fc.constantFrom(
    { method: 'POST' as const, url: '/orders', scope: 'orders:write' },
    { method: 'GET' as const, url: '/orders/order-1', scope: 'orders:read' },
    { method: 'GET' as const, url: '/customers/cust-1/points', scope: 'orders:read' },
    { method: 'POST' as const, url: '/orders/order-1/cancel', scope: 'operate' },
    { method: 'POST' as const, url: '/orders/order-1/reconcile', scope: 'operate' },
    { method: 'POST' as const, url: '/orders/order-1/resolve', scope: 'operate' },
    { method: 'GET' as const, url: '/inventory/SKU-1', scope: 'operate' },
    { method: 'PUT' as const, url: '/inventory/SKU-1', scope: 'operate' },
    { method: 'GET' as const, url: '/metrics', scope: 'metrics' },
  );
  const validBodyFor = (url: string, method: string) =>
    url === '/orders'
      ? JSON.stringify(validOrder(orderId, customerId))
      : method === 'PUT'
        ? '{"available":5}'
        : url.endsWith('/resolve')
          ? '{"action":"retry"}'
          : url.endsWith('/cancel') || url.endsWith('/reconcile')
            ? '{"reason":"asked"}'
            : undefined;

  /** A valid request to any route, made invalid by its credentials alone. */
  const badCredentials: fc.Arbitrary<Req> = fc
    .tuple(
      okPath,
      fc.oneof(
        fc.constant<{ why: string; headers: Record<string, string> }>({
          why: 'no key',
          headers: {},
        }),
        fc
          .string({ minLength: 1, maxLength: 60, unit: fc.constantFrom(...'abcXYZ0189-_.~+/=') })
          .map((k) => ({ why: 'unknown key', headers: bearer(k) })),
        fc.constantFrom<{ why: string; headers: Record<string, string> }>(
          { why: 'key one character short', headers: bearer(OPERATOR.slice(0, -1)) },
          { why: 'key with one character more', headers: bearer(OPERATOR + 'x') },
          { why: 'Basic instead of Bearer', headers: { authorization: `Basic ${OPERATOR}` } },
          { why: 'Bearer without key', headers: { authorization: 'Bearer ' } },
          { why: 'key without Bearer', headers: { authorization: OPERATOR } },
          { why: 'empty X-Api-Key', headers: { 'x-api-key': '' } },
          { why: 'X-Api-Key in other case', headers: { 'x-api-key': OPERATOR.toUpperCase() } },
          { why: 'key in the query string', headers: {} },
        ),
      ),
    )
    .map(([p, cred]): Req => {
      const body = validBodyFor(p.url, p.method);
      return {
        method: p.method,
        url: cred.why === 'key in the query string' ? `${p.url}?apiKey=${OPERATOR}` : p.url,
        headers: { ...cred.headers, ...(body ? json : {}) },
        ...(body ? { payload: body } : {}),
        why: cred.why,
      };
    });

  /** A valid request made with a valid key that lacks the route's scope. */
  const outOfScope: fc.Arbitrary<Req> = fc
    .tuple(okPath, fc.constantFrom(...(CODEC ? [CLIENT, CODEC] : [CLIENT])), fc.boolean())
    .filter(
      ([p, key]) => !(key === CLIENT && (p.scope === 'orders:write' || p.scope === 'orders:read')),
    )
    .map(([p, key, viaHeader]) => {
      const body = validBodyFor(p.url, p.method);
      return {
        method: p.method,
        url: p.url,
        headers: { ...(viaHeader ? { 'x-api-key': key } : bearer(key)), ...(body ? json : {}) },
        ...(body ? { payload: body } : {}),
        why: `${key === CLIENT ? 'client' : 'codec'} key on ${p.method} ${p.url}`,
      };
    });

  const anyKey = fc.constantFrom(OPERATOR, CLIENT);

  /** POST /orders with a key that may place orders and a body that is wrong in some way. */
  const badOrder: fc.Arbitrary<Req> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.tuple(orderFault, fc.boolean()).map(([f, withId]) => {
        const o = validOrder(orderId, customerId) as unknown as Order;
        if (!withId) delete o.orderId;
        return {
          method: 'POST' as const,
          url: '/orders',
          headers: { ...bearer(CLIENT), ...json },
          payload: JSON.stringify(f.mutate(o)),
          why: f.why,
        };
      }),
    },
    {
      weight: 2,
      arbitrary: brokenJson.map((payload) => ({
        method: 'POST' as const,
        url: '/orders',
        headers: { ...bearer(CLIENT), ...json },
        payload,
        why: `broken JSON ${JSON.stringify(payload)}`,
      })),
    },
    {
      weight: 2,
      arbitrary: wrongContentType.map((type) => ({
        method: 'POST' as const,
        url: '/orders',
        headers: { ...bearer(OPERATOR), 'content-type': type },
        payload: JSON.stringify(validOrder(orderId, customerId)),
        why: `content type ${type}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        method: 'POST' as const,
        url: '/orders',
        headers: { ...bearer(CLIENT) },
        payload: JSON.stringify(validOrder(orderId, customerId)),
        why: 'no content type',
      }),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 4 }).map((size) => {
        const o = validOrder(orderId, customerId);
        const pad = size - JSON.stringify(o).length;
        return {
          method: 'POST' as const,
          url: '/orders',
          headers: { ...bearer(CLIENT), ...json },
          payload: JSON.stringify({
            ...o,
            shippingAddress: { ...o.shippingAddress, line2: 'x'.repeat(pad) },
          }),
          why: `body of ${size} bytes`,
        };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom('', 'has space', 'tab\there', 'x'.repeat(201), 'ünïcode'),
          fc.string({ minLength: 201, maxLength: 260, unit: fc.constantFrom('a', 'b') }),
        )
        .map((key) => ({
          method: 'POST' as const,
          url: '/orders',
          headers: { ...bearer(CLIENT), ...json, 'idempotency-key': key },
          payload: JSON.stringify(validOrder(orderId, customerId)),
          why: `Idempotency-Key ${JSON.stringify(key.slice(0, 20))}`,
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc
            .constantFrom('delivered', 'PAID', '', 'paid,shipped', '1')
            .map((wait) => ({ query: `?wait=${encodeURIComponent(wait)}`, prefer: {} })),
          fc
            .constantFrom(
              'wait=0',
              'wait=61',
              'wait=-1',
              'wait=1.5',
              'wait=soon',
              'respond-async, wait=',
            )
            .map((prefer) => ({ query: '', prefer: { prefer } })),
        )
        .map(({ query, prefer }) => ({
          method: 'POST' as const,
          url: `/orders${query}`,
          headers: { ...bearer(CLIENT), ...json, ...prefer },
          payload: JSON.stringify(validOrder(orderId, customerId)),
          why: `a wait it cannot take: ${query || JSON.stringify(prefer)}`,
        })),
    },
  );

  /** The other routes with a key that may call them and a bad id, SKU or body. */
  const badOtherRoute: fc.Arbitrary<Req> = fc.oneof(
    badId.map((id) => ({
      method: 'GET' as const,
      url: `/orders/${encodeURIComponent(id)}`,
      headers: bearer(CLIENT),
      why: `GET order ${JSON.stringify(id)}`,
    })),
    badId.map((id) => ({
      method: 'GET' as const,
      url: `/customers/${encodeURIComponent(id)}/points`,
      headers: bearer(CLIENT),
      why: `points of ${JSON.stringify(id)}`,
    })),
    fc.tuple(fc.constantFrom('cancel', 'reconcile', 'resolve'), badId).map(([action, id]) => ({
      method: 'POST' as const,
      url: `/orders/${encodeURIComponent(id)}/${action}`,
      headers: { ...bearer(OPERATOR), ...json },
      payload: action === 'resolve' ? '{"action":"retry"}' : '{}',
      why: `${action} of ${JSON.stringify(id)}`,
    })),
    fc
      .tuple(
        fc.constantFrom('cancel', 'reconcile'),
        fc.oneof(
          badText(200).map((reason) => ({ reason })),
          unknownFieldName.map((k) => ({ [k === 'reason' ? 'why' : k]: 'x' })),
          fc.constantFrom<unknown>([], 'text', 5, null),
        ),
      )
      .map(([action, body]) => ({
        method: 'POST' as const,
        url: `/orders/order-1/${action}`,
        headers: { ...bearer(OPERATOR), ...json },
        payload: JSON.stringify(body),
        why: `${action} with body ${JSON.stringify(body).slice(0, 40)}`,
      })),
    fc
      .oneof(
        fc.constant<unknown>({}),
        fc
          .string({ maxLength: 10 })
          .filter((a) => a !== 'retry' && a !== 'give-up')
          .map((action) => ({ action })),
        fc.constant({ action: 'retry', reason: 'x'.repeat(201) }),
        unknownFieldName
          .filter((k) => k !== 'reason' && k !== 'action')
          .map((k) => ({ action: 'retry', [k]: 1 })),
      )
      .map((body) => ({
        method: 'POST' as const,
        url: '/orders/order-1/resolve',
        headers: { ...bearer(OPERATOR), ...json },
        payload: JSON.stringify(body),
        why: `resolve with ${JSON.stringify(body).slice(0, 40)}`,
      })),
    badId.map((sku) => ({
      method: 'GET' as const,
      url: `/inventory/${encodeURIComponent(sku)}`,
      headers: bearer(OPERATOR),
      why: `stock of ${JSON.stringify(sku)}`,
    })),
    fc
      .tuple(
        fc.oneof(fc.constant('SKU-1'), badId),
        fc.oneof(
          fc.constant<unknown>({}),
          fc.integer({ max: -1 }).map((available) => ({ available })),
          fc.integer({ min: 1_000_000_001 }).map((available) => ({ available })),
          fc.double({ min: 0.1, max: 10, noInteger: true }).map((available) => ({ available })),
          notANumber.map((available) => ({ available })),
          unknownFieldName.filter((k) => k !== 'available').map((k) => ({ available: 1, [k]: 1 })),
          fc.constant({ available: 5, reserved: 0 }),
        ),
      )
      .map(([sku, body]) => ({
        method: 'PUT' as const,
        url: `/inventory/${encodeURIComponent(sku)}`,
        headers: { ...bearer(OPERATOR), ...json },
        payload: JSON.stringify(body),
        why: `PUT stock ${JSON.stringify(sku)} ${JSON.stringify(body).slice(0, 40)}`,
      })),
    fc
      .tuple(
        fc.constantFrom('DELETE' as const, 'PATCH' as const, 'PUT' as const),
        fc.constantFrom('/orders', '/orders/order-1', '/admin', '/orders/order-1/delete', '/'),
        anyKey,
      )
      .map(([method, url, key]) => ({
        method,
        url,
        headers: bearer(key),
        why: `${method} ${url}`,
      })),
  );

  return fc.oneof(
    { weight: 2, arbitrary: badCredentials },
    { weight: 2, arbitrary: outOfScope },
    { weight: 4, arbitrary: badOrder },
    { weight: 3, arbitrary: badOtherRoute },
  );
}
