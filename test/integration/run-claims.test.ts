import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import type { CommandEnvelope, CommandPayloads, CommandType } from '../../src/domain/types';
import { createPool } from '../../src/platform/db/pool';
import { processCommand } from '../../src/services/core/command-processor';
import { CommandFencedError } from '../../src/services/core/errors';
import { inventoryService } from '../../src/services/inventory/service';
import { createFakeCarrier } from '../../src/services/shipping/fake-carrier';
import { CarrierClient } from '../../src/services/shipping/carrier-client';
import { PersonalData } from '../../src/platform/security/personal-data';
import { shippingService } from '../../src/services/shipping/service';
import { testConfig, uniqueId } from '../support/env';
import { listen } from '../support/harness';

/**
 * What a service does with commands of an order whose run was replaced — by a reset, or by the
 * cleanup of a run that closed unfinished: the run that sent last acts on the order, an older run's
 * copy still in the stream is refused and recorded, an effect once undone is never redone, and a
 * command asked again is answered as its effect stands, under a message id of its own. Each service
 * as its own database role, against the real PostgreSQL.
 */
describe('runs that replace runs, at a service (real PostgreSQL)', function () {
  const config = testConfig();
  const carrier = createFakeCarrier();
  let shipping: ReturnType<typeof shippingService>;
  let shippingPool: Pool;
  let inventoryPool: Pool;
  let db: Pool;

  before(async () => {
    shipping = shippingService(
      new CarrierClient(await listen(carrier.app), 2_000),
      new PersonalData([{ id: 'test', key: crypto.randomBytes(32) }]),
    );
    shippingPool = createPool(config, 'shipping', { max: 2 });
    inventoryPool = createPool(config, 'inventory', { max: 2 });
    db = createPool(config, 'migrator', { max: 2 });
  });
  after(async () => {
    await Promise.all([shippingPool?.end(), inventoryPool?.end(), db?.end()]);
    await carrier.app.close();
  });

  /** A command of `orderId`, sent by run `runId` at `at` (ms), as the sendCommand activity stamps it. */
  function command<T extends CommandType>(
    orderId: string,
    type: T,
    seq: number,
    payload: CommandPayloads[T],
    sentBy: { runId: string; at: number },
    workflowId = `order-${orderId}`,
  ): CommandEnvelope<T> {
    return {
      commandId: `${workflowId}:${type}:${seq}`,
      type,
      orderId,
      workflowId,
      seq,
      payload,
      replyTo: `${workflowId}:${type}:${seq}~${seq}`,
      sentBy,
    };
  }
  const create = (orderId: string, by: { runId: string; at: number }) =>
    command(
      orderId,
      'shipping.create',
      4,
      {
        address: { line1: '1 Quay', city: 'Leith', country: 'GB' },
        items: [{ sku: 's', quantity: 1 }],
      },
      by,
    );
  const cleanupCancel = (orderId: string, at: number) =>
    command(
      orderId,
      'shipping.cancel',
      1,
      {},
      { runId: 'cleanup-run', at },
      `cleanup-order-${orderId}`,
    );
  const shipmentsAt = (orderId: string) =>
    carrier.state.ledger.shipments.filter((s) => s.orderId === orderId);

  it("refuses a closed run's command that arrives after the cleanup, records it, and calls nobody", async () => {
    const orderId = uniqueId('ord');
    const cancelled = await processCommand(shippingPool, shipping, cleanupCancel(orderId, 2_000));
    assert.deepEqual(cancelled.reply.result, { cancelled: false, reason: 'no_shipment' });

    const late = create(orderId, { runId: 'terminated-run', at: 1_000 });
    await assert.rejects(processCommand(shippingPool, shipping, late), (err: unknown) => {
      assert.ok(err instanceof CommandFencedError, String(err));
      assert.equal(err.claimant.runId, 'cleanup-run');
      return true;
    });
    assert.deepEqual(shipmentsAt(orderId), [], 'the carrier was never asked');
    const { rows } = await db.query(
      `SELECT command_id, run_id, claimant_run_id FROM shipping.fenced_commands WHERE order_id = $1`,
      [orderId],
    );
    assert.deepEqual(rows, [
      { command_id: late.commandId, run_id: 'terminated-run', claimant_run_id: 'cleanup-run' },
    ]);
    const notes = await db.query(`SELECT 1 FROM shipping.provider_calls WHERE order_id = $1`, [
      orderId,
    ]);
    assert.equal(notes.rowCount, 0, 'no note is left for a call never made');
  });

  it('lets a newer run take the order over, and refuses the older run from then on', async () => {
    const orderId = uniqueId('ord');
    const sku = uniqueId('sku');
    await db.query(`INSERT INTO inventory.stock (sku, available) VALUES ($1, 10)`, [sku]);
    const reserve = (runId: string, at: number, seq = 1) =>
      command(orderId, 'inventory.reserve', seq, { items: [{ sku, quantity: 2 }] }, { runId, at });
    assert.equal(
      (await processCommand(inventoryPool, inventoryService, reserve('old', 100))).reply.outcome,
      'succeeded',
    );
    // The reset's new run sends the same command again: it takes the order, and hears the stored answer.
    const again = await processCommand(inventoryPool, inventoryService, reserve('new', 500));
    assert.equal(again.firstTime, false);
    assert.equal(again.reply.outcome, 'succeeded');
    // The old run's next command, sent before the reset, arrives now: refused.
    const oldCommit = command(
      orderId,
      'inventory.commit',
      5,
      { reserveCommandId: `order-${orderId}:inventory.reserve:1` },
      { runId: 'old', at: 400 },
    );
    await assert.rejects(
      processCommand(inventoryPool, inventoryService, oldCommit),
      CommandFencedError,
    );
    const stock = await db.query(`SELECT available, reserved FROM inventory.stock WHERE sku = $1`, [
      sku,
    ]);
    assert.deepEqual(stock.rows[0], { available: 8, reserved: 2 });
  });

  it('answers a reset run that asks again about an effect undone since: undone, not the stored success', async () => {
    const orderId = uniqueId('ord');
    const first = { runId: 'first', at: 100 };
    const made = await processCommand(shippingPool, shipping, create(orderId, first));
    assert.equal(made.reply.outcome, 'succeeded');
    const cancel = command(orderId, 'shipping.cancel', 6, {}, { runId: 'first', at: 200 });
    assert.equal(
      (await processCommand(shippingPool, shipping, cancel)).reply.result?.cancelled,
      true,
    );

    const asked = await processCommand(
      shippingPool,
      shipping,
      create(orderId, { runId: 'reset', at: 900 }),
    );
    assert.equal(asked.firstTime, false);
    assert.equal(asked.reply.outcome, 'rejected');
    assert.equal(asked.reply.error?.code, 'undone');
    assert.equal(asked.reply.result, undefined);
    assert.equal(shipmentsAt(orderId).length, 1, 'one shipment, never made again');
    assert.equal(shipmentsAt(orderId)[0]!.cancelled, true);
  });

  it('refuses a forward command for an order undone here, whichever run sends it: an order undone is never redone', async () => {
    const orderId = uniqueId('ord');
    await processCommand(shippingPool, shipping, cleanupCancel(orderId, 1_000));
    const fresh = command(
      orderId,
      'shipping.create',
      9,
      { address: 'somewhere', items: [{ sku: 's', quantity: 1 }] },
      { runId: 'reset-after-cleanup', at: 5_000 },
    );
    const r = await processCommand(shippingPool, shipping, fresh);
    assert.equal(r.reply.error?.code, 'undone');
    assert.deepEqual(shipmentsAt(orderId), []);
  });

  it('gives an answer asked again a message id of its own, sent to the send that asked', async () => {
    const orderId = uniqueId('ord');
    const sku = uniqueId('sku');
    await db.query(`INSERT INTO inventory.stock (sku, available) VALUES ($1, 10)`, [sku]);
    const reserve = command(
      orderId,
      'inventory.reserve',
      1,
      { items: [{ sku, quantity: 1 }] },
      { runId: 'r', at: 1 },
    );
    const a = await processCommand(inventoryPool, inventoryService, reserve);
    assert.equal(a.msgId, a.reply.replyId, 'the first answer: the id the outbox relay uses too');
    const resend = { ...reserve, replyTo: 'order-x:inventory.reserve:1~2' };
    const b = await processCommand(inventoryPool, inventoryService, resend);
    assert.equal(b.firstTime, false);
    assert.notEqual(b.msgId, a.msgId);
    assert.equal(b.reply.replyId, a.reply.replyId, 'the same reply: the workflow takes it once');
    assert.equal(b.reply.replyTo, resend.replyTo);
  });
});
