import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { isSealed, sealedKeyId, sealedValuesIn } from '../../src/domain/sealed';
import { acceptedOrderSchema, parseCommand } from '../../src/domain/schemas';
import { PersonalData, PersonalDataError } from '../../src/platform/security/personal-data';

const key = (id: string) => ({ id, key: crypto.randomBytes(32) });

describe('personal data, sealed with a data key', () => {
  const k1 = key('k1');
  const k2 = key('k2');
  const address = { name: 'Ada Example', line1: '1 Quay', city: 'Leith', country: 'GB' };

  it('seals with the first key, opens with any, and carries nothing of the value in clear', () => {
    const sealed = new PersonalData([k1]).seal(address);
    assert.ok(isSealed(sealed));
    assert.equal(sealedKeyId(sealed), 'k1');
    assert.ok(!sealed.sealed.includes('Ada') && !sealed.sealed.includes('Quay'));
    assert.deepEqual(new PersonalData([k2, k1]).open(sealed), address);
    assert.notEqual(
      new PersonalData([k1]).seal(address).sealed,
      sealed.sealed,
      'a fresh IV each time',
    );
  });

  it('passes a value in clear through unopened (commands from before sealing)', () => {
    assert.deepEqual(new PersonalData([k1]).open(address), address);
  });

  it('refuses, naming the key, a value sealed with a key it does not have, altered, or cut short', () => {
    const sealed = new PersonalData([k1]).seal(address);
    assert.throws(
      () => new PersonalData([k2]).open(sealed),
      (e: Error) =>
        e instanceof PersonalDataError &&
        /data key "k1", which this process does not have \(it has "k2"\)/.test(e.message),
    );
    const raw = Buffer.from(sealed.sealed.split(':')[2]!, 'base64');
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
    const altered = { sealed: `pd1:k1:${raw.toString('base64')}` };
    assert.throws(() => new PersonalData([k1]).open(altered), /failed authentication/);
    assert.throws(() => new PersonalData([k1]).open({ sealed: 'pd1:k1:AAAA' }), /too short/);
  });

  it('seals an order’s address and payment method once, and seals again only what another key sealed', () => {
    const order = {
      orderId: 'o-1',
      customerId: 'c-1',
      items: [{ sku: 's', quantity: 1, unitPriceCents: 100 }],
      currency: 'EUR',
      shippingAddress: address,
      paymentMethod: 'card 4242',
    };
    const pd = new PersonalData([k1]);
    const sealed = pd.sealOrder(order);
    assert.equal([...sealedValuesIn(sealed)].length, 2);
    assert.deepEqual(pd.sealOrder(sealed), sealed, 'sealed fields are kept as they are');
    assert.ok(acceptedOrderSchema.safeParse(sealed).success, 'what the orders table may hold');
    assert.ok(!acceptedOrderSchema.safeParse(order).success, 'an address in clear is not');
    const rotated = new PersonalData([k2, k1]);
    const again = rotated.reseal(sealed.shippingAddress as { sealed: string });
    assert.equal(sealedKeyId(again), 'k2');
    assert.deepEqual(rotated.open(again!), address);
    assert.equal(rotated.reseal(again!), undefined, 'under the current key: nothing to do');
  });

  it('lets a shipping command carry the sealed address', () => {
    const cmd = parseCommand({
      commandId: 'order-o:shipping.create:4',
      type: 'shipping.create',
      orderId: 'o',
      workflowId: 'order-o',
      seq: 4,
      payload: {
        address: new PersonalData([k1]).seal(address),
        items: [{ sku: 's', quantity: 1 }],
      },
    });
    assert.ok(isSealed((cmd.payload as { address?: unknown }).address));
  });
});
