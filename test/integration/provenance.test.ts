import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { ReplyEnvelope } from '../../src/domain/types';
import type { OrderDetails } from '../../src/orders/order-service';
import { createPool } from '../../src/platform/db/pool';
import { createLogger } from '../../src/platform/logger';
import { connectNats } from '../../src/platform/messaging/connection';
import { publishJson } from '../../src/platform/messaging/publish';
import { provenanceCounter } from '../../src/platform/metrics/registry';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { waitFor } from '../../src/platform/wait';
import { startCodecServer } from '../../src/processes/codec-server';
import { startReplyBridge } from '../../src/replies/reply-bridge';
import { startDeadLetterWatcher } from '../../src/replies/dead-letter-watcher';
import { relayOnce } from '../../src/services/core/outbox-relay';
import { orderStateQuery, workflowIdFor } from '../../workflows/definitions';
import { uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { temporalCli } from '../support/temporal-cli';

/**
 * Who may speak for whom, crossed as an attacker inside the system would: a service that publishes
 * another service's reply with its own NATS credentials, or writes one into its own outbox; an
 * operator who encodes a reply, a resolve or a recorded start through the codec server and sends it
 * with Temporal's CLI. Each is refused, counted where it is an alert, and no order moves on it.
 */
describe("who may speak for whom: replies, outboxes, and what Temporal's tools send", function () {
  this.timeout(120_000);
  let h: Harness;
  let cli: Awaited<ReturnType<typeof temporalCli>>;
  const registry = new Registry();
  const refused = provenanceCounter(registry);

  before(async function () {
    this.timeout(120_000);
    // Nothing here ends by a step timing out: each order ends on its service's own answer.
    h = await startHarness({
      SHIPSHAPE_STEP_TIMEOUT_MS: '60000',
      SHIPSHAPE_MAX_DELIVER: '3', // a refund that keeps failing is dead-lettered in seconds
      SHIPSHAPE_COMPENSATION_ROUNDS: '1',
    });
    cli = await temporalCli(h.config);
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
  });
  afterEach(async () => {
    await h.payment.app.inject({ method: 'POST', url: '/_control/reset' });
    await h.carrier.app.inject({ method: 'POST', url: '/_control/reset' });
  });

  /** An order whose card is declined, after the provider thought about it for `ms`. */
  async function declinedSlowly(ms: number) {
    const sku = uniqueId('sku');
    const customerId = uniqueId('cust');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
    h.payment.state.faults.refuseCustomerIds.push(customerId);
    h.payment.state.faults.latencyMs = ms;
    const r = await http(h, 'POST', '/orders', orderBody({ orderId, customerId, sku }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const charging = await waitForOrder(h, orderId, hasStatus('CHARGING_PAYMENT'));
    const commandId = charging.steps?.payment.commandId;
    assert.ok(commandId, 'the charge has a command id');
    return { orderId, sku, customerId, commandId, workflowId: workflowIdFor(orderId) };
  }
  const forgedSuccess = (o: { orderId: string; workflowId: string; commandId: string }) =>
    ({
      replyId: `forged:${o.commandId}`,
      commandId: o.commandId,
      type: 'payment.charge',
      orderId: o.orderId,
      workflowId: o.workflowId,
      outcome: 'succeeded',
      result: { chargeId: 'ch_forged' },
      replyTo: `${o.commandId}~1`,
    }) satisfies ReplyEnvelope;

  /** Nothing reached the carrier and nobody was charged: the order failed on its real answer. */
  async function failedOnItsOwnAnswer(orderId: string): Promise<void> {
    const ended = await waitForOrder(h, orderId, hasStatus('FAILED'));
    assert.match(ended.failureReason ?? '', /card_declined/);
    assert.equal(h.carrier.state.ledger.shipments.filter((s) => s.orderId === orderId).length, 0);
    assert.equal(h.payment.state.ledger.charges.filter((c) => c.orderId === orderId).length, 0);
  }

  describe('a service speaking for another with its own credentials', () => {
    let nc: NatsConnection | undefined;
    let bridge: { stop(): Promise<void> } | undefined;
    let watcher: { stop(): Promise<void> } | undefined;
    let bridgeTemporal: Client | undefined;
    let bridgePool: Pool | undefined;
    before(async () => {
      // The bridge and its dead-letter watcher as the process runs them, with the bridge's alert
      // counted where this test can read it.
      await h.stopBridge();
      bridgeTemporal = await connectTemporalClient(h.config, 'reply-bridge');
      nc = await connectNats(h.config, 'reply-bridge', 'test-bridge');
      bridgePool = createPool(h.config, 'reply-bridge', { max: 2 });
      const log = createLogger('test-bridge', h.config.logLevel);
      bridge = await startReplyBridge({ nc, temporal: bridgeTemporal, log, refused });
      watcher = await startDeadLetterWatcher({
        nc,
        pool: bridgePool,
        temporal: bridgeTemporal,
        log,
      });
    });
    after(async () => {
      await bridge?.stop();
      await watcher?.stop();
      await nc?.drain();
      await bridgePool?.end();
      await bridgeTemporal?.connection.close();
      await h.startBridge();
    });

    it('dead-letters a payment reply the inventory service publishes, counts it, and the order never moves on it', async () => {
      const o = await declinedSlowly(3_000);
      const inventory = await connectNats(h.config, 'inventory', 'test-forger');
      try {
        const js = jetstream(inventory);
        // On its own reply subject, as NATS lets it: a charge's success, and the same as a reserve.
        await publishJson(js, 'reply.inventory.reserve', forgedSuccess(o), `${o.orderId}-1`, o);
        await publishJson(
          js,
          'reply.inventory.reserve',
          { ...forgedSuccess(o), replyId: 'forged-2', type: 'inventory.reserve' },
          `${o.orderId}-2`,
          o,
        );
        // On payment's subject NATS refuses it outright.
        await assert.rejects(
          publishJson(js, 'reply.payment.charge', forgedSuccess(o), `${o.orderId}-3`, o, 2_000),
        );
      } finally {
        await inventory.drain();
      }
      const letters = await waitFor('both forged replies dead-lettered', async () => {
        const { rows } = await h.pool.query<{ error: string }>(
          `SELECT error FROM app.dead_letters WHERE order_id = $1 AND stream = 'REPLIES'`,
          [o.orderId],
        );
        return rows.length === 2 ? rows : undefined;
      });
      assert.ok(
        letters.every((l) => /provenance/.test(l.error)),
        JSON.stringify(letters),
      );
      assert.match(letters.map((l) => l.error).join(), /only payment answers payment\.charge/);
      assert.match(letters.map((l) => l.error).join(), /which is a payment\.charge/);
      const counted = (await refused.get()).values.find(
        (v) => v.labels.where === 'reply-bridge' && v.labels.service === 'inventory',
      );
      assert.equal(counted?.value, 2);
      await failedOnItsOwnAnswer(o.orderId);
    });
  });

  it('publishes no outbox row of a service that is not its own reply, and a service cannot rewrite a row', async () => {
    const inventory: Pool = createPool(h.config, 'inventory', { max: 1 });
    try {
      const commandId = `order-${uniqueId('x')}:payment.charge:2`;
      const forged = (replyId: string, subject: string, type: string) =>
        inventory.query(
          `INSERT INTO inventory.outbox (reply_id, command_id, subject, payload, created_at)
           VALUES ($1, $2, $3, $4, now() - interval '1 minute')`,
          [
            replyId,
            `${commandId}:${replyId}`,
            subject,
            JSON.stringify({
              ...forgedSuccess({ orderId: 'x', workflowId: 'order-x', commandId }),
              type,
            }),
          ],
        );
      const a = uniqueId('forged');
      const b = uniqueId('forged');
      await forged(a, 'reply.payment.charge', 'payment.charge');
      await forged(b, 'reply.inventory.reserve', 'payment.charge');
      await assert.rejects(
        inventory.query(
          `UPDATE inventory.outbox SET subject = 'reply.payment.charge' WHERE reply_id = $1`,
          [a],
        ),
        /permission denied/,
      );
      const nc = await connectNats(h.config, 'outbox-relay', 'test-relay');
      try {
        await relayOnce({
          pool: h.pool,
          js: jetstream(nc),
          log: createLogger('test-relay', 'fatal'),
          intervalMs: 1_000,
          graceMs: 0,
          refused,
          refusedSeen: new Set(),
        });
      } finally {
        await nc.drain();
      }
      const { rows } = await h.pool.query<{ reply_id: string }>(
        `SELECT reply_id FROM inventory.outbox WHERE reply_id = ANY($1) AND published_at IS NULL`,
        [[a, b]],
      );
      assert.equal(rows.length, 2, 'neither was published');
      const counted = (await refused.get()).values.find(
        (v) => v.labels.where === 'outbox-relay' && v.labels.service === 'inventory',
      );
      assert.ok((counted?.value ?? 0) >= 2);
    } finally {
      // Marked published, so that no later relay counts them again (rows are kept until retention).
      await h.pool.query(
        `UPDATE inventory.outbox SET published_at = now() WHERE reply_id LIKE 'forged-%'`,
      );
      await inventory.end();
    }
  });

  describe("an operator's key through the codec server", () => {
    let codec: Awaited<ReturnType<typeof startCodecServer>>;
    let viaCodec: string[];
    before(async () => {
      codec = await startCodecServer(
        { ...h.config, codecServer: { port: 0, tls: undefined } },
        createLogger('codec-test', 'fatal'),
      );
      const operatorKey = readLocalSecrets(h.config.stack.dir)!.apiKeys.operator;
      viaCodec = [
        '--codec-endpoint',
        `http://127.0.0.1:${codec.port}/codec`,
        '--codec-auth',
        `Bearer ${operatorKey}`,
      ];
    });
    after(() => codec?.stop());
    const rejectedInputs = (workflowId: string) =>
      h.temporal.workflow
        .getHandle(workflowId)
        .query(orderStateQuery)
        .then((v) => v.rejectedInputs ?? []);

    it('cannot make an order take a forged reply, by signal or by completing its activity by hand', async () => {
      const o = await declinedSlowly(3_000);
      const reply = JSON.stringify(forgedSuccess(o));
      const waiting = (await h.temporal.workflow.getHandle(o.workflowId).describe()).raw
        .pendingActivities?.[0]?.activityId;
      assert.ok(waiting, 'the charge waits in its activity');
      await cli(
        'workflow',
        'signal',
        '--workflow-id',
        o.workflowId,
        '--name',
        'reply',
        '--input',
        reply,
        ...viaCodec,
      );
      await cli(
        'activity',
        'complete',
        '--workflow-id',
        o.workflowId,
        '--activity-id',
        waiting,
        '--result',
        reply,
        '--identity',
        'an-operator',
        ...viaCodec,
      );
      const rejected = await waitFor('both to be refused', async () => {
        const r = await rejectedInputs(o.workflowId);
        return r.length >= 2 ? r : undefined;
      });
      assert.match(rejected.join('\n'), /a reply signal: it is not signed by the reply-bridge/);
      assert.match(
        rejected.join('\n'),
        /the result of .*payment\.charge.*: it is not signed by the reply-bridge/,
      );
      // The hand-made completion ended the first send; the service's own answer ends the step.
      await failedOnItsOwnAnswer(o.orderId);
    });

    it('cannot give up an order that waits for an operator: only the API may', async () => {
      const sku = uniqueId('sku');
      const orderId = uniqueId('ord');
      await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
      h.carrier.state.faults.latencyMs = 1_500;
      h.carrier.state.faults.refuseOrderIds.push(orderId);
      await http(h, 'POST', '/orders', orderBody({ orderId, customerId: uniqueId('c'), sku }));
      await waitForOrder(h, orderId, hasStatus('CREATING_SHIPMENT'));
      h.payment.state.faults.failNext = 1_000_000; // the refund keeps failing
      await waitForOrder(h, orderId, hasStatus('NEEDS_ATTENTION'), 90_000);
      const workflowId = workflowIdFor(orderId);
      await cli(
        'workflow',
        'signal',
        '--workflow-id',
        workflowId,
        '--name',
        'resolve',
        '--input',
        JSON.stringify({ action: 'give-up', workflowId }),
        ...viaCodec,
      );
      const rejected = await waitFor('the resolve to be refused', async () => {
        const r = await rejectedInputs(workflowId);
        return r.length ? r : undefined;
      });
      assert.match(rejected[0]!, /^a resolve: it is not signed by the api/);
      const still = (await http<OrderDetails>(h, 'GET', `/orders/${orderId}`)).body;
      assert.equal(still.status, 'NEEDS_ATTENTION');
      assert.equal(
        (await http(h, 'POST', `/orders/${orderId}/resolve`, { action: 'give-up' })).status,
        202,
      );
      const ended = await waitForOrder(h, orderId, hasStatus('FAILED'));
      assert.equal(ended.steps?.payment.state, 'COMPENSATION_ABANDONED');
    });

    it('cannot start an order the orders table does not hold: a start by hand is refused before its run writes anything', async () => {
      const orderId = uniqueId('ord');
      const sku = uniqueId('sku');
      await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
      const order = { ...orderBody({ orderId, customerId: uniqueId('c'), sku }), orderId };
      await cli(
        'workflow',
        'start',
        '--type',
        'orderFulfillment',
        '--task-queue',
        h.config.temporal.taskQueue,
        '--workflow-id',
        workflowIdFor(orderId),
        '--input',
        JSON.stringify({ order, settings: h.config.workflow, recorded: true }),
        ...viaCodec,
      );
      // Marked "recorded" by someone other than the API, the run would record it itself, and refuses
      // to: its address came in clear, and only the API and the client library seal it.
      await assert.rejects(
        h.temporal.workflow.getHandle(workflowIdFor(orderId)).result(),
        (err: Error) =>
          /personal data must arrive sealed/.test(
            String((err as { cause?: Error }).cause?.message),
          ),
      );
      assert.equal((await http(h, 'GET', `/orders/${orderId}`)).status, 404);
      assert.equal(h.payment.state.ledger.charges.filter((c) => c.orderId === orderId).length, 0);
    });
  });
});
