import assert from 'node:assert/strict';
import { createFakePaymentProvider } from '../../src/services/payment/fake-payment';
import { PaymentProviderClient } from '../../src/services/payment/payment-client';
import { TransientError } from '../../src/services/core/errors';

describe('the fake payment provider and its client', () => {
  const provider = createFakePaymentProvider();
  let client: PaymentProviderClient;

  before(async () => {
    await provider.app.listen({ port: 0, host: '127.0.0.1' });
    const a = provider.app.server.address();
    client = new PaymentProviderClient(
      `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
      2000,
    );
  });
  after(() => provider.app.close());
  beforeEach(() => provider.app.inject({ method: 'POST', url: '/_control/reset' }));

  const charge = { orderId: 'o1', amountCents: 500, currency: 'EUR', customerId: 'c1' };

  it('charges once per Idempotency-Key and replays the first answer', async () => {
    const a = await client.charge(charge, 'key-1');
    const b = await client.charge(charge, 'key-1');
    assert.deepEqual(a, b);
    assert.equal(provider.state.ledger.charges.length, 1);
  });

  it('refuses a reused key with a different request', async () => {
    await client.charge(charge, 'key-2');
    const res = await provider.app.inject({
      method: 'POST',
      url: '/charges',
      headers: { 'idempotency-key': 'key-2' },
      payload: { ...charge, amountCents: 999 },
    });
    assert.equal(res.statusCode, 409);
  });

  it('declines on request with 402, which the client reads as a business answer', async () => {
    provider.state.faults.refuseCustomerIds.push('c1');
    assert.deepEqual(await client.charge(charge, 'key-3'), {
      kind: 'declined',
      reason: 'card_declined',
    });
  });

  it('turns 5xx and dropped responses into transient errors, and the retry with the same key charges once', async () => {
    provider.state.faults.failNext = 1;
    await assert.rejects(client.charge(charge, 'key-4'), TransientError);
    assert.equal(provider.state.ledger.charges.length, 0);
    provider.state.faults.dropResponseNext = 1;
    await assert.rejects(client.charge(charge, 'key-4'), TransientError);
    assert.equal(provider.state.ledger.charges.length, 1, 'the dropped call did the work');
    const retried = await client.charge(charge, 'key-4');
    assert.equal(retried.kind, 'charged');
    assert.equal(provider.state.ledger.charges.length, 1);
  });

  it('requires an Idempotency-Key', async () => {
    const res = await provider.app.inject({ method: 'POST', url: '/charges', payload: charge });
    assert.equal(res.statusCode, 400);
  });
});
