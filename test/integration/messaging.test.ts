import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { createPool } from '../../src/platform/db/pool';
import type { CommandEnvelope } from '../../src/domain/types';
import { createLogger } from '../../src/platform/logger';
import { connectNats } from '../../src/platform/messaging/connection';
import { publishJson } from '../../src/platform/messaging/publish';
import {
  COMMAND_STREAM,
  COMMAND_TRAIL,
  commandSubject,
  serviceConsumerName,
} from '../../src/platform/messaging/subjects';
import type { Component } from '../../src/processes/resources';
import { startService } from '../../src/processes/service';
import { processCommand } from '../../src/services/core/command-processor';
import { inventoryService } from '../../src/services/inventory/service';
import { getStock, setStock } from '../../src/services/inventory/queries';
import { askService } from '../../src/services/core/queries';
import { waitFor } from '../../src/platform/wait';
import { testConfig, uniqueId } from '../support/env';

const METRICS_PORT = testConfig().stack.ports.metricsBase + 90;

describe('commands over JetStream, handled exactly once (real JetStream and PostgreSQL)', function () {
  const config = testConfig();
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let pool: Pool;
  let inventory: Component;

  before(async () => {
    nc = await connectNats(config, 'admin', 'test-messaging');
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    pool = createPool(config, 'migrator', { max: 4 });
    inventory = await startService(
      { ...config, metricsPort: METRICS_PORT },
      'inventory',
      createLogger('test-inventory', config.logLevel),
    );
  });
  after(async () => {
    await inventory?.stop();
    await nc?.close();
    await pool?.end();
  });

  function reserveCommand(
    orderId: string,
    sku: string,
    quantity: number,
  ): CommandEnvelope<'inventory.reserve'> {
    const workflowId = `order-${orderId}`;
    return {
      commandId: `${workflowId}:inventory.reserve:1`,
      type: 'inventory.reserve',
      orderId,
      workflowId,
      seq: 1,
      payload: { items: [{ sku, quantity }] },
    };
  }

  const inventoryDrained = () =>
    waitFor('the inventory consumer to have nothing pending', async () => {
      const info = await jsm.consumers.info(COMMAND_STREAM, serviceConsumerName('inventory'));
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });

  const consumedRows = async (commandId: string) =>
    (
      await pool.query('SELECT 1 FROM inventory.consumed_messages WHERE command_id = $1', [
        commandId,
      ])
    ).rowCount;

  it('stores a command published twice with the same Nats-Msg-Id once', async () => {
    const cmd = reserveCommand(uniqueId('ord'), uniqueId('sku'), 1);
    const ids = { commandId: cmd.commandId, orderId: cmd.orderId };
    const first = await publishJson(js, commandSubject(cmd.type), cmd, cmd.commandId, ids);
    const second = await publishJson(js, commandSubject(cmd.type), cmd, cmd.commandId, ids);
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal(second.seq, first.seq);
    // The service may have consumed it already (then it left the work stream): its trail keeps it.
    const stored = await waitFor(
      'the command in the trail',
      async () => (await jsm.streams.getMessage(COMMAND_TRAIL, { seq: first.seq })) ?? undefined,
    );
    assert.equal(stored.json<CommandEnvelope>().commandId, cmd.commandId);
  });

  it('applies a command delivered twice to the service (a redelivery past dedup) once', async () => {
    const sku = uniqueId('sku');
    await setStock(pool, sku, 10);
    const cmd = reserveCommand(uniqueId('ord'), sku, 4);
    const ids = { commandId: cmd.commandId, orderId: cmd.orderId };
    // Different Nats-Msg-Ids get past JetStream's dedup: the service's consumed-messages table must catch it.
    await publishJson(js, commandSubject(cmd.type), cmd, `${cmd.commandId}#first`, ids);
    await publishJson(js, commandSubject(cmd.type), cmd, `${cmd.commandId}#second`, ids);
    await inventoryDrained();
    assert.equal(await consumedRows(cmd.commandId), 1);
    assert.deepEqual(await getStock(pool, sku), { sku, available: 6, reserved: 4 });
    const outbox = await pool.query<{ published_at: Date | null }>(
      'SELECT published_at FROM inventory.outbox WHERE command_id = $1',
      [cmd.commandId],
    );
    assert.equal(outbox.rowCount, 1);
    assert.notEqual(outbox.rows[0]?.published_at, null);
  });

  it('counts what the service did on its own GET /metrics, with its lanes', async () => {
    const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
    assert.match(
      text,
      /shipshape_commands_handled_total\{service="inventory",outcome="applied",process="inventory"\} [1-9]/,
    );
    assert.match(
      text,
      /shipshape_commands_handled_total\{service="inventory",outcome="duplicate",process="inventory"\} [1-9]/,
    );
    assert.match(
      text,
      /shipshape_lane_in_flight\{consumer="inventory",lane="7",process="inventory"\} \d/,
    );
  });

  it('records an older command that arrives after a newer one of its order as stale, and does not apply it', async () => {
    const sku = uniqueId('sku');
    await setStock(pool, sku, 5);
    const orderId = uniqueId('ord');
    const reserve = reserveCommand(orderId, sku, 2);
    const release: CommandEnvelope = {
      commandId: `order-${orderId}:inventory.release:2`,
      type: 'inventory.release',
      orderId,
      workflowId: `order-${orderId}`,
      seq: 2,
      payload: { reserveCommandId: reserve.commandId },
    };
    assert.equal(
      (await processCommand(pool, inventoryService, release)).reply.outcome,
      'succeeded',
    );
    const late = await processCommand(pool, inventoryService, reserve);
    assert.equal(late.reply.outcome, 'rejected');
    assert.equal(late.reply.error?.code, 'stale');
    assert.deepEqual(await getStock(pool, sku), { sku, available: 5, reserved: 0 });
    const { rows } = await pool.query<{ outcome: string }>(
      'SELECT outcome FROM inventory.consumed_messages WHERE order_id = $1 ORDER BY seq',
      [orderId],
    );
    assert.deepEqual(
      rows.map((r) => r.outcome),
      ['stale', 'applied'],
    );
  });

  it('returns the stored reply, with no second effect, when a handled command is processed again', async () => {
    const sku = uniqueId('sku');
    await setStock(pool, sku, 3);
    const cmd = reserveCommand(uniqueId('ord'), sku, 3);
    const a = await processCommand(pool, inventoryService, cmd);
    const b = await processCommand(pool, inventoryService, cmd);
    assert.equal(a.firstTime, true);
    assert.equal(b.firstTime, false);
    assert.deepEqual(b.reply, a.reply);
    assert.equal(a.reply.outcome, 'succeeded');
    assert.deepEqual(await getStock(pool, sku), { sku, available: 0, reserved: 3 });
  });

  it('handles concurrent deliveries of one command once', async () => {
    const sku = uniqueId('sku');
    await setStock(pool, sku, 5);
    const cmd = reserveCommand(uniqueId('ord'), sku, 5);
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => processCommand(pool, inventoryService, cmd)),
    );
    assert.equal(results.filter((r) => r.firstTime).length, 1);
    assert.ok(results.every((r) => r.reply.outcome === 'succeeded'));
    assert.deepEqual(await getStock(pool, sku), { sku, available: 0, reserved: 5 });
  });

  it('terminates a command that fails its schema instead of retrying it', async () => {
    const orderId = uniqueId('poison');
    await publishJson(
      js,
      'cmd.inventory.reserve',
      { commandId: `order-${orderId}:x:1`, type: 'inventory.reserve' },
      uniqueId('m'),
      {
        commandId: 'x',
        orderId,
      },
    );
    await inventoryDrained();
    const { rowCount } = await pool.query(
      'SELECT 1 FROM inventory.consumed_messages WHERE order_id = $1',
      [orderId],
    );
    assert.equal(rowCount, 0);
  });

  it('answers questions about its own tables over NATS, and names what is wrong with a bad one', async () => {
    const asker = await connectNats(config, 'reconciler', 'test-asking');
    try {
      const sku = uniqueId('sku');
      await setStock(pool, sku, 3);
      const cmd = reserveCommand(uniqueId('ord'), sku, 2);
      await publishJson(js, commandSubject(cmd.type), cmd, cmd.commandId, {
        commandId: cmd.commandId,
        orderId: cmd.orderId,
      });
      await inventoryDrained();
      // What the reconciler asks: of these orders, which does inventory still hold stock for.
      const other = uniqueId('ord');
      assert.deepEqual(
        await askService(asker, 'inventory', 'holds', { orderIds: [cmd.orderId, other] }),
        [cmd.orderId],
      );
      await assert.rejects(
        askService(asker, 'inventory', 'holds', { orderIds: ['has a space'] }),
        /inventory service could not answer holds: a "holds" asked with bad input: .*orderIds/s,
      );
      // NATS itself refuses the reconciler a question it may not ask.
      await assert.rejects(
        askService(asker, 'inventory', 'stock.set', { sku, available: 100 }),
        /Permissions Violation|did not answer/,
      );
      assert.deepEqual(await getStock(pool, sku), { sku, available: 1, reserved: 2 });
    } finally {
      await asker.close();
    }
  });
});
