import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CommandEnvelope } from '../../src/domain/types';
import { connectNats } from '../../src/platform/messaging/connection';
import { streamUsage } from '../../src/cli/data-keys';
import { isStreamFull } from '../../src/platform/messaging/errors';
import { publishJson } from '../../src/platform/messaging/publish';
import {
  ADVISORY_STREAM,
  COMMAND_STREAM,
  commandSubject,
  REPLY_STREAM,
  trailOf,
} from '../../src/platform/messaging/subjects';
import { waitFor } from '../../src/platform/wait';
import { uniqueId } from '../support/env';
import { authHeaders, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

describe('bounded streams: a byte limit, nothing unconsumed ever deleted, a full stream refuses and the publisher retries', function () {
  this.timeout(120_000);
  let h: Harness;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness();
    nc = await connectNats(h.config, 'admin', 'test-stream-limits');
    jsm = await jetstreamManager(nc);
  });
  after(async function () {
    this.timeout(60_000);
    // Whatever happened, the stream leaves with the limit setup gives it.
    if (jsm) await limitCommands(h.config.messaging.maxBytes);
    await nc?.close();
    await h?.stop();
  });

  /** Sets the command stream's byte limit, as setup would with SHIPSHAPE_STREAM_MAX_BYTES. */
  const limitCommands = async (maxBytes: number) => {
    const { config } = await jsm.streams.info(COMMAND_STREAM);
    await jsm.streams.update(COMMAND_STREAM, { ...config, max_bytes: maxBytes });
  };

  /** Waits for the order's command on `subject` to reach the trail, then to leave the work stream. */
  const seeCommandLeave = async (orderId: string, subject: string) => {
    const inTrail = await waitFor(`the order's ${subject} in the trail`, async () => {
      const m = await jsm.streams
        .getMessage(trailOf(COMMAND_STREAM), { last_by_subj: subject })
        .catch(() => null);
      return m?.json<CommandEnvelope>().orderId === orderId ? m : undefined;
    });
    await waitFor(
      `the order's ${subject} to leave the command stream`,
      async () => (await jsm.streams.getMessage(COMMAND_STREAM, { seq: inTrail.seq })) === null,
    );
  };

  const placeOrder = async () => {
    const sku = uniqueId('sku');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 5 })).status, 200);
    const orderId = uniqueId('ord');
    await http(h, 'POST', '/orders', orderBody({ orderId, customerId: uniqueId('c'), sku }));
    return orderId;
  };

  it('keeps work only while it is to be done, within a byte limit, and copies every message to a trail', async () => {
    for (const stream of [COMMAND_STREAM, REPLY_STREAM, ADVISORY_STREAM]) {
      const { config } = await jsm.streams.info(stream);
      assert.equal(config.retention, 'interest', stream);
      assert.equal(config.discard, 'new', stream);
      assert.equal(config.max_bytes, h.config.messaging.maxBytes, stream);
      assert.equal(config.max_age, 0, `${stream} deletes nothing for its age`);
    }
    for (const stream of [COMMAND_STREAM, REPLY_STREAM]) {
      const { config } = await jsm.streams.info(trailOf(stream));
      assert.equal(config.mirror?.name, stream);
      assert.equal(config.discard, 'old', `${trailOf(stream)} holds copies only`);
      assert.equal(config.max_bytes, h.config.messaging.maxBytes);
    }

    // A completed order's commands have left the work stream; the trail still has them.
    const orderId = await placeOrder();
    assert.equal((await waitForOrder(h, orderId)).status, 'COMPLETED');
    await seeCommandLeave(orderId, 'cmd.inventory.reserve');
  });

  it('lets work published after `shipshape keys data-usage` read the stream leave it', async () => {
    // The order's award waits in the stream while the stream is read; its later commands come after.
    await h.stopService('loyalty');
    let orderId: string;
    try {
      orderId = await placeOrder();
      await waitForOrder(h, orderId, (o) => o.status === 'AWARDING_POINTS');
      const usage = await streamUsage(nc);
      assert.ok(usage[`stream ${COMMAND_STREAM}`], 'the command stream was read');
    } finally {
      await h.startService('loyalty');
    }
    assert.equal((await waitForOrder(h, orderId)).status, 'COMPLETED');
    await seeCommandLeave(orderId, 'cmd.inventory.commit');
  });

  it('refuses a publish to a full command stream, deletes nothing, and places the order once the service makes room', async () => {
    const js = jetstream(nc);
    // Work the inventory service will do when it is back: three reservations of unknown stock.
    const waiting: CommandEnvelope[] = [1, 2, 3].map(() => {
      const id = uniqueId('waiting');
      return {
        commandId: `order-${id}:inventory.reserve:1`,
        type: 'inventory.reserve',
        orderId: id,
        workflowId: `order-${id}`,
        seq: 1,
        payload: { items: [{ sku: uniqueId('none'), quantity: 1 }] },
      };
    });
    const placed = uniqueId('ord');
    // Stock is the inventory service's to set: set it while the service is up.
    const sku = uniqueId('sku');
    assert.equal((await http(h, 'PUT', `/inventory/${sku}`, { available: 5 })).status, 200);
    await h.stopService('inventory');
    try {
      for (const c of waiting) await publishJson(js, commandSubject(c.type), c, c.commandId, c);
      const before = (await jsm.streams.info(COMMAND_STREAM)).state;
      await limitCommands(before.bytes);

      const extra = { ...waiting[0]!, commandId: `${waiting[0]!.commandId}-extra` };
      const refused = await publishJson(
        js,
        commandSubject(extra.type),
        extra,
        extra.commandId,
        extra,
      )
        .then(() => undefined)
        .catch((err: unknown) => err);
      assert.ok(isStreamFull(refused), `a full stream refuses the publish: ${String(refused)}`);
      const after = (await jsm.streams.info(COMMAND_STREAM)).state;
      assert.deepEqual(
        [after.first_seq, after.messages, after.bytes],
        [before.first_seq, before.messages, before.bytes],
        'nothing was deleted to make room',
      );

      // The API sees the stream at its limit: what the alert (deploy/prometheus/alerts.yml) watches.
      const metrics = await (
        await fetch(`${h.apiUrl}/metrics`, { headers: authHeaders(h) })
      ).text();
      const sample = (name: string) =>
        Number(
          new RegExp(`^${name}\\{stream="${COMMAND_STREAM}"[^}]*\\} (\\d+)$`, 'm').exec(
            metrics,
          )?.[1],
        );
      assert.equal(sample('shipshape_stream_bytes'), before.bytes);
      assert.equal(sample('shipshape_stream_max_bytes'), before.bytes);

      // An order placed now waits: its first command is refused and tried again.
      const res = await http(
        h,
        'POST',
        '/orders',
        orderBody({ orderId: placed, customerId: uniqueId('c'), sku }),
      );
      assert.equal(res.status, 202);
      await waitForOrder(h, placed, (o) => o.status === 'RESERVING_INVENTORY');
      assert.equal((await jsm.streams.info(COMMAND_STREAM)).state.messages, before.messages);
    } finally {
      await h.startService('inventory');
    }
    // The service does the waiting work, which leaves the stream; the order's command gets in.
    assert.equal((await waitForOrder(h, placed, undefined, 90_000)).status, 'COMPLETED');
    const { rows } = await h.pool.query<{ outcome: string }>(
      'SELECT outcome FROM inventory.consumed_messages WHERE command_id = ANY($1)',
      [waiting.map((c) => c.commandId)],
    );
    assert.deepEqual(
      rows.map((r) => r.outcome),
      ['rejected', 'rejected', 'rejected'],
      'each waiting command was done once',
    );
  });
});
