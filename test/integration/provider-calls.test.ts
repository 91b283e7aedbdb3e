import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import type { CommandEnvelope, CommandPayloads, CommandType } from '../../src/domain/types';
import { createPool } from '../../src/platform/db/pool';
import { processCommand } from '../../src/services/core/command-processor';
import { isTransient } from '../../src/services/core/errors';
import { ProviderRefusedError } from '../../src/services/core/provider-http';
import { createFakePaymentProvider } from '../../src/services/payment/fake-payment';
import { PaymentProviderClient } from '../../src/services/payment/payment-client';
import { paymentService } from '../../src/services/payment/service';
import { CarrierClient } from '../../src/services/shipping/carrier-client';
import { createFakeCarrier } from '../../src/services/shipping/fake-carrier';
import { PersonalData } from '../../src/platform/security/personal-data';
import { shippingService } from '../../src/services/shipping/service';
import { testConfig, uniqueId } from '../support/env';
import { listen } from '../support/harness';

/**
 * A provider that acts and loses its answer, followed by the compensation before the redelivery: the
 * effect exists at the provider and in no table. Each service, as its own database role, against the
 * fake providers over HTTP and the real PostgreSQL.
 */
describe('compensations undo effects whose answers were lost (real PostgreSQL, fake providers)', function () {
  const config = testConfig();
  const carrier = createFakeCarrier();
  const payment = createFakePaymentProvider();
  let shippingPool: Pool;
  let paymentPool: Pool;
  let db: Pool;
  let shipping: ReturnType<typeof shippingService>;
  let pay: ReturnType<typeof paymentService>;

  before(async () => {
    shipping = shippingService(
      new CarrierClient(await listen(carrier.app), 2_000),
      new PersonalData([{ id: 'test', key: crypto.randomBytes(32) }]),
    );
    pay = paymentService(new PaymentProviderClient(await listen(payment.app), 2_000));
    shippingPool = createPool(config, 'shipping', { max: 2 });
    paymentPool = createPool(config, 'payment', { max: 2 });
    db = createPool(config, 'migrator', { max: 2 });
  });
  after(async () => {
    await Promise.all([shippingPool?.end(), paymentPool?.end(), db?.end()]);
    await Promise.all([carrier.app.close(), payment.app.close()]);
  });
  afterEach(async () => {
    await carrier.app.inject({ method: 'POST', url: '/_control/reset' });
    await payment.app.inject({ method: 'POST', url: '/_control/reset' });
  });

  function command<T extends CommandType>(
    orderId: string,
    type: T,
    seq: number,
    payload: CommandPayloads[T],
  ): CommandEnvelope<T> {
    const workflowId = `order-${orderId}`;
    return { commandId: `${workflowId}:${type}:${seq}`, type, orderId, workflowId, seq, payload };
  }
  const shipmentCommands = (orderId: string) => {
    const create = command(orderId, 'shipping.create', 7, {
      address: {
        name: 'A. Customer',
        line1: '1 Main St',
        city: 'Springfield',
        postalCode: '12345',
        country: 'US',
      },
      items: [{ sku: 'sku-1', quantity: 2 }],
    });
    const cancel = command(orderId, 'shipping.cancel', 8, { createCommandId: create.commandId });
    return { create, cancel };
  };
  const chargeCommands = (orderId: string) => {
    const charge = command(orderId, 'payment.charge', 3, {
      customerId: 'cust-1',
      amountCents: 5_000,
      currency: 'USD',
    });
    const refund = command(orderId, 'payment.refund', 9, {
      chargeCommandId: charge.commandId,
      amountCents: 5_000,
    });
    return { charge, refund };
  };
  const carrierShipments = (orderId: string) =>
    carrier.state.ledger.shipments.filter((s) => s.orderId === orderId);
  const callsWithKey = (state: { calls: { idempotencyKey: string }[] }, key: string) =>
    state.calls.filter((c) => c.idempotencyKey === key).length;
  const rowOf = async (table: string, orderId: string) =>
    (await db.query(`SELECT * FROM ${table} WHERE order_id = $1`, [orderId])).rows[0] as
      Record<string, unknown> | undefined;
  const notes = async (schema: string, orderId: string) =>
    (await db.query(`SELECT 1 FROM ${schema}.provider_calls WHERE order_id = $1`, [orderId]))
      .rowCount ?? 0;
  const transient = (err: unknown) => isTransient(err);

  it('cancels at the carrier a shipment whose answer was lost, and the late create makes no other', async () => {
    const orderId = uniqueId('ord');
    const { create, cancel } = shipmentCommands(orderId);
    carrier.state.faults.dropResponseNext = 1;
    await assert.rejects(processCommand(shippingPool, shipping, create), transient);
    assert.equal(await rowOf('shipping.shipments', orderId), undefined, 'nothing recorded');
    assert.equal(carrierShipments(orderId).length, 1, 'the carrier made it');

    const cancelled = await processCommand(shippingPool, shipping, cancel);
    const [made] = carrierShipments(orderId);
    assert.deepEqual(cancelled.reply.result, { cancelled: true, shipmentId: made?.shipmentId });
    assert.equal(made?.cancelled, true);
    assert.equal((await rowOf('shipping.shipments', orderId))?.status, 'cancelled');

    const late = await processCommand(shippingPool, shipping, create);
    assert.equal(late.reply.error?.code, 'stale');
    assert.equal(carrierShipments(orderId).length, 1);
    assert.equal(callsWithKey(carrier.state, create.commandId), 2, 'the create, and its replay');
    assert.equal(await notes('shipping', orderId), 0);
  });

  it('refunds a charge whose answer was lost, and the late charge takes no more', async () => {
    const orderId = uniqueId('ord');
    const { charge, refund } = chargeCommands(orderId);
    payment.state.faults.dropResponseNext = 1;
    await assert.rejects(processCommand(paymentPool, pay, charge), transient);
    assert.equal(await rowOf('payment.charges', orderId), undefined, 'nothing recorded');

    const refunded = await processCommand(paymentPool, pay, refund);
    const charges = payment.state.ledger.charges.filter((c) => c.orderId === orderId);
    assert.equal(charges.length, 1);
    assert.equal(refunded.reply.result?.refunded, true);
    assert.deepEqual(
      payment.state.ledger.refunds.map((r) => [r.chargeId, r.amountCents, r.idempotencyKey]),
      [[charges[0]?.chargeId, 5_000, refund.commandId]],
    );
    assert.equal((await rowOf('payment.charges', orderId))?.status, 'refunded');

    const late = await processCommand(paymentPool, pay, charge);
    assert.equal(late.reply.error?.code, 'stale');
    assert.equal(payment.state.ledger.charges.filter((c) => c.orderId === orderId).length, 1);
    assert.equal(await notes('payment', orderId), 0);
  });

  it('makes and cancels a shipment whose create may never have reached the carrier: one key, nothing left live', async () => {
    const orderId = uniqueId('ord');
    const { create, cancel } = shipmentCommands(orderId);
    carrier.state.faults.failNext = 1;
    await assert.rejects(processCommand(shippingPool, shipping, create), transient);
    assert.equal(carrierShipments(orderId).length, 0, 'the carrier answered 503 and made nothing');

    assert.equal(
      (await processCommand(shippingPool, shipping, cancel)).reply.result?.cancelled,
      true,
    );
    assert.deepEqual(
      carrierShipments(orderId).map((s) => [s.idempotencyKey, s.cancelled]),
      [[create.commandId, true]],
    );
  });

  it('keeps no note of a create the carrier refused, and the cancel asks it nothing', async () => {
    const orderId = uniqueId('ord');
    const { create, cancel } = shipmentCommands(orderId);
    carrier.state.faults.badRequestNext = 1;
    await assert.rejects(processCommand(shippingPool, shipping, create), ProviderRefusedError);
    assert.equal(await notes('shipping', orderId), 0);
    assert.deepEqual((await processCommand(shippingPool, shipping, cancel)).reply.result, {
      cancelled: false,
      reason: 'no_shipment',
    });
    // The fake counts the calls it served; the refused one is not among them.
    assert.equal(carrier.state.calls.length, 0, 'the cancel asked the carrier nothing');
    assert.equal(carrierShipments(orderId).length, 0);
  });

  it('takes a refused replay as nothing made: the refund has nothing to undo', async () => {
    const orderId = uniqueId('ord');
    const { charge, refund } = chargeCommands(orderId);
    payment.state.faults.failNext = 1;
    await assert.rejects(processCommand(paymentPool, pay, charge), transient);
    payment.state.faults.badRequestNext = 1;
    assert.deepEqual((await processCommand(paymentPool, pay, refund)).reply.result, {
      refunded: false,
      reason: 'no_charge',
    });
    assert.equal(payment.state.ledger.charges.filter((c) => c.orderId === orderId).length, 0);
    assert.equal(await notes('payment', orderId), 0);
  });

  it('does not reach the provider for a compensation whose effect was never attempted', async () => {
    const orderId = uniqueId('ord');
    const { create, cancel } = shipmentCommands(orderId);
    const { charge, refund } = chargeCommands(orderId);
    assert.deepEqual((await processCommand(shippingPool, shipping, cancel)).reply.result, {
      cancelled: false,
      reason: 'no_shipment',
    });
    assert.deepEqual((await processCommand(paymentPool, pay, refund)).reply.result, {
      refunded: false,
      reason: 'no_charge',
    });
    assert.equal((await processCommand(shippingPool, shipping, create)).reply.error?.code, 'stale');
    assert.equal((await processCommand(paymentPool, pay, charge)).reply.error?.code, 'stale');
    assert.equal(carrier.state.calls.length + payment.state.calls.length, 0);
  });

  it('leaves no note behind once the effect is recorded, made or refused', async () => {
    const made = uniqueId('ord');
    const refused = uniqueId('ord');
    carrier.state.faults.refuseOrderIds.push(refused);
    const a = await processCommand(shippingPool, shipping, shipmentCommands(made).create);
    const b = await processCommand(shippingPool, shipping, shipmentCommands(refused).create);
    assert.equal(a.reply.outcome, 'succeeded');
    assert.equal(b.reply.error?.code, 'address_rejected');
    assert.equal((await notes('shipping', made)) + (await notes('shipping', refused)), 0);
    const cancelRefused = await processCommand(
      shippingPool,
      shipping,
      shipmentCommands(refused).cancel,
    );
    assert.deepEqual(cancelRefused.reply.result, { cancelled: false, reason: 'rejected' });
  });
});
