import assert from 'node:assert/strict';
import {
  describeIssues,
  inventoryPutSchema,
  MAX_ORDER_TOTAL_CENTS,
  orderRequestSchema,
  parseCommand,
  resolveBodySchema,
} from '../../src/domain/schemas';
import { pointsFor } from '../../src/services/loyalty/service';

describe('order and command schemas', () => {
  const good = {
    customerId: 'c-1',
    items: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 199 }],
    currency: 'EUR',
    shippingAddress: '1 Quay, Leith',
  };

  it('accepts a well-formed order, with an address as text or as fields', () => {
    assert.ok(orderRequestSchema.safeParse(good).success);
    assert.ok(
      orderRequestSchema.safeParse({
        ...good,
        shippingAddress: { line1: '1 Quay', city: 'Leith', country: 'GB' },
      }).success,
    );
  });

  it('names each bad field', () => {
    const r = orderRequestSchema.safeParse({
      ...good,
      items: [],
      currency: 'eur',
      orderId: 'has/slash',
    });
    assert.ok(!r.success);
    assert.deepEqual(
      describeIssues(r.error)
        .map((i) => i.field)
        .sort(),
      ['currency', 'items', 'orderId'],
    );
  });

  it('rejects fractional cents and quantities', () => {
    const r = orderRequestSchema.safeParse({
      ...good,
      items: [{ sku: 'a', quantity: 1.5, unitPriceCents: 1.5 }],
    });
    assert.ok(!r.success);
    assert.deepEqual(
      describeIssues(r.error).map((i) => i.field),
      ['items.0.quantity', 'items.0.unitPriceCents'],
    );
  });

  it('refuses free items, unknown fields and control characters, naming each', () => {
    const r = orderRequestSchema.safeParse({
      ...good,
      coupon: 'FREE',
      items: [{ sku: 'a', quantity: 1, unitPriceCents: 0, note: 'x' }],
      shippingAddress: { line1: '1 Quay\u0000', city: 'Leith', country: 'GB', floor: 3 },
    });
    assert.ok(!r.success);
    assert.deepEqual(
      describeIssues(r.error)
        .map((i) => `${i.field}: ${i.message}`)
        .sort(),
      [
        'coupon: is not a known field',
        'items.0.note: is not a known field',
        'items.0.unitPriceCents: must be at least 1 cent',
        'shippingAddress.floor: is not a known field',
        'shippingAddress.line1: must not contain control characters',
      ],
    );
    const bad = orderRequestSchema.safeParse({
      ...good,
      'odd key!': 1,
      paymentMethod: 'card\u0007',
    });
    assert.ok(!bad.success);
    assert.deepEqual(
      describeIssues(bad.error).map((i) => i.field),
      ['paymentMethod', '(unknown field)'],
    );
    assert.ok(!inventoryPutSchema.safeParse({ available: 1, reserved: 0 }).success);
    assert.ok(!resolveBodySchema.safeParse({ action: 'retry', force: true }).success);
    assert.ok(orderRequestSchema.safeParse({ ...good, shippingAddress: '1 Quay\nLeith' }).success);
  });

  it("bounds an order's total", () => {
    const items = [{ sku: 'a', quantity: 10_000, unitPriceCents: 100_000_000 }];
    const r = orderRequestSchema.safeParse({ ...good, items });
    assert.ok(!r.success);
    assert.deepEqual(describeIssues(r.error), [
      {
        field: 'items',
        message: `the order's total must be at most ${MAX_ORDER_TOTAL_CENTS} cents`,
      },
    ]);
  });

  it('parses a command and refuses one whose payload does not fit its type', () => {
    const cmd = {
      commandId: 'order-1:payment.charge:2',
      type: 'payment.charge',
      orderId: '1',
      workflowId: 'order-1',
      seq: 2,
    };
    assert.equal(
      parseCommand({ ...cmd, payload: { customerId: 'c', amountCents: 100, currency: 'EUR' } })
        .type,
      'payment.charge',
    );
    assert.throws(() => parseCommand({ ...cmd, payload: { items: [] } }));
    assert.throws(() => parseCommand({ ...cmd, type: 'payment.steal', payload: {} }));
  });

  it('awards 1 point per 100 cents, rounded down', () => {
    assert.equal(pointsFor(0), 0);
    assert.equal(pointsFor(99), 0);
    assert.equal(pointsFor(100), 1);
    assert.equal(pointsFor(3150), 31);
  });
});
