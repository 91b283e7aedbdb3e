import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger } from '../../src/platform/logger';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { temporalBinary } from '../../tooling/stack/binaries';
import { startCodecServer } from '../../src/processes/codec-server';
import { ENCRYPTED_ENCODING } from '../../src/platform/temporal/payload-codec';
import { connectNats } from '../../src/platform/messaging/connection';
import type { OrderDetails } from '../../src/orders/order-service';
import { projectRoot } from '../../src/platform/paths';
import type { ReconcileReport } from '../../src/reconciler/reconciler';
import { startReconciler } from '../../src/reconciler/reconciler';
import { reconcilerDeps } from '../../src/processes/reconciler';
import { orderStateQuery } from '../../workflows/definitions';
import { waitFor } from '../../src/platform/wait';
import { TEST_ENV, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

const run = promisify(execFile);

describe('reconcile: signals, the reconciler, orphan effects', function () {
  this.timeout(120_000);
  let h: Harness;
  let nc: NatsConnection;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness({
      SHIPSHAPE_STEP_TIMEOUT_MS: '60000', // nothing re-sends by itself: only reconciles move these orders
      SHIPSHAPE_STEP_MAX_SENDS: '3',
      SHIPSHAPE_MAX_DELIVER: '3',
      SHIPSHAPE_COMPENSATION_ROUNDS: '1',
    });
    nc = await connectNats(h.config, 'admin', 'test-reconcile');
  });
  after(async function () {
    this.timeout(60_000);
    await h?.startBridge();
    await nc?.close();
    await h?.stop();
  });
  afterEach(() => h.startBridge());
  afterEach(() => h.payment.app.inject({ method: 'POST', url: '/_control/reset' }));
  afterEach(() => h.carrier.app.inject({ method: 'POST', url: '/_control/reset' }));

  async function placeOrder() {
    const sku = uniqueId('sku');
    const customerId = uniqueId('cust');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
    assert.equal(
      (
        await http(
          h,
          'POST',
          '/orders',
          orderBody({ orderId, customerId, sku, quantity: 2, unitPriceCents: 1_000 }),
        )
      ).status,
      202,
    );
    return { sku, customerId, orderId };
  }
  const charges = (orderId: string) =>
    h.payment.state.ledger.charges.filter((c) => c.orderId === orderId);

  it('completes an order whose replies are lost, one reconcile per step, with one effect each', async () => {
    await h.stopBridge(); // every reply now sits unread in JetStream
    const { orderId, sku, customerId } = await placeOrder();
    const done = await waitFor(
      'the order to complete by reconciles alone',
      async () => {
        await http(h, 'POST', `/orders/${orderId}/reconcile`, { reason: 'test' });
        const o = (await http<OrderDetails>(h, 'GET', `/orders/${orderId}`)).body;
        return o.status === 'COMPLETED' ? o : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    assert.equal(done.status, 'COMPLETED');
    assert.equal(charges(orderId).length, 1);
    assert.equal(h.carrier.state.ledger.shipments.filter((s) => s.orderId === orderId).length, 1);
    assert.deepEqual((await http(h, 'GET', `/inventory/${sku}`)).body, {
      sku,
      available: 8,
      reserved: 0,
    });
    assert.equal(
      (await http<{ points: number }>(h, 'GET', `/customers/${customerId}/points`)).body.points,
      20,
    );
    for (const service of ['inventory', 'payment', 'loyalty', 'shipping']) {
      const { rows } = await h.pool.query<{ outcome: string }>(
        `SELECT outcome FROM ${service}.consumed_messages WHERE order_id = $1`,
        [orderId],
      );
      // Every command the service got was applied, and it got at least one.
      assert.deepEqual(
        [...new Set(rows.map((r) => r.outcome))],
        ['applied'],
        `${service}: ${JSON.stringify(rows)}`,
      );
    }
    const view = await h.temporal.workflow.getHandle(`order-${orderId}`).query(orderStateQuery);
    assert.ok(
      view.reconciled?.some((l) => /found done by the service/.test(l)),
      JSON.stringify(view.reconciled),
    );

    // Reconciling a finished order changes nothing.
    assert.equal((await http(h, 'POST', `/orders/${orderId}/reconcile`)).status, 202);
    assert.equal(charges(orderId).length, 1);
  });

  it("takes reconcile signals from Temporal's own CLI, through the codec server and without it", async () => {
    // What an operator does: `temporal workflow signal --name reconcile`, once with the codec flags
    // (the input is encrypted through the codec server) and once without (the input goes in clear).
    const temporalCli = await temporalBinary(h.config.stack.binCacheDir, () => undefined);
    const codec = await startCodecServer(
      { ...h.config, codecServer: { port: 0, tls: undefined } },
      createLogger('codec-test', 'fatal'),
    );
    const operatorKey = readLocalSecrets(h.config.stack.dir)!.apiKeys.operator;
    const signal = (workflowId: string, withCodec: boolean) =>
      run(temporalCli, [
        'workflow',
        'signal',
        '--address',
        h.config.temporal.address,
        '--namespace',
        h.config.temporal.namespace,
        '--workflow-id',
        workflowId,
        '--name',
        'reconcile',
        '--input',
        '{"reason":"checked by hand"}',
        ...(withCodec
          ? [
              '--codec-endpoint',
              `http://127.0.0.1:${codec.port}/codec`,
              '--codec-auth',
              `Bearer ${operatorKey}`,
            ]
          : []),
      ]);
    try {
      await h.stopBridge(); // every reply now sits unread: only reconciles move the order
      const { orderId } = await placeOrder();
      const workflowId = `order-${orderId}`;
      let signals = 0;
      const done = await waitFor(
        'the order to complete by CLI reconciles alone',
        async () => {
          await signal(workflowId, signals++ % 2 === 0);
          const o = (await http<OrderDetails>(h, 'GET', `/orders/${orderId}`)).body;
          return o.status === 'COMPLETED' ? o : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 300 },
      );
      assert.equal(done.status, 'COMPLETED');
      assert.equal(charges(orderId).length, 1);
      const events = (await h.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const encodings = new Set(
        events
          .map((e) => e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0])
          .filter((p) => p !== undefined)
          .map((p) => Buffer.from(p.metadata?.encoding ?? []).toString()),
      );
      assert.deepEqual([...encodings].sort(), [ENCRYPTED_ENCODING, 'json/plain']);
      assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0);
    } finally {
      await codec.stop();
    }
  });

  it('counts the answer already on its way when a reconcile sends the command again', async () => {
    // The charge is in the provider's hands when the reconcile comes: the service has not recorded it
    // yet, so the reconcile sends the command again, and the first send's answer arrives after that.
    h.payment.state.faults.latencyMs = 3_000;
    const { orderId } = await placeOrder();
    await waitForOrder(h, orderId, hasStatus('CHARGING_PAYMENT'));
    assert.equal(
      (await http(h, 'POST', `/orders/${orderId}/reconcile`, { reason: 'test' })).status,
      202,
    );
    // Well inside the 60 s step timeout: only the first send's answer can finish the step this soon.
    const done = await waitForOrder(h, orderId, hasStatus('COMPLETED'), 30_000);
    assert.equal(charges(orderId).length, 1);
    assert.equal(done.steps?.payment.sends, 2, 'the first send and the reconcile, no more');
    const view = await h.temporal.workflow.getHandle(`order-${orderId}`).query(orderStateQuery);
    assert.ok(
      view.reconciled?.some((l) => /not done by the service; sent again/.test(l)),
      JSON.stringify(view.reconciled),
    );
    const events =
      (await h.temporal.workflow.getHandle(`order-${orderId}`).fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.activityTaskTimedOutEventAttributes).length, 0);
  });

  it('lets the reconciler find a stuck order by itself and un-stick it', async () => {
    await h.stopBridge();
    const { orderId } = await placeOrder();
    await waitForOrder(h, orderId, hasStatus('RESERVING_INVENTORY'));
    // As the process runs it: its own client, which signs what it starts.
    const temporal = await connectTemporalClient(h.config, 'reconciler');
    const reconciler = startReconciler(
      reconcilerDeps(h.config, {
        temporal,
        pool: h.pool,
        ask: h.ask,
        log: createLogger('test-reconciler', h.config.logLevel),
      }),
      { ...h.config.reconciler, periodMs: 300, cleanupPeriodMs: 300, thresholdMs: 500 },
    );
    try {
      const done = await waitForOrder(h, orderId, hasStatus('COMPLETED'), 60_000);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(charges(orderId).length, 1);
    } finally {
      await reconciler.stop();
      await temporal.connection.close();
    }
  });

  it('never undoes a charge an operator gave up refunding, however often it runs (the CLI round)', async () => {
    h.carrier.state.faults.latencyMs = 300;
    const { orderId } = await placeOrder();
    h.carrier.state.faults.refuseOrderIds.push(orderId);
    await waitForOrder(h, orderId, hasStatus('CREATING_SHIPMENT'));
    h.payment.state.faults.failNext = 1_000_000; // every refund attempt fails
    await waitForOrder(h, orderId, hasStatus('NEEDS_ATTENTION'));
    assert.equal(
      (await http(h, 'POST', `/orders/${orderId}/resolve`, { action: 'give-up' })).status,
      202,
    );
    const failed = await waitForOrder(h, orderId);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.steps?.payment.state, 'COMPENSATION_ABANDONED');
    assert.equal(h.payment.state.ledger.refunds.length, 0);

    h.payment.state.faults.failNext = 0;
    const cli = (...args: string[]) =>
      run('node', [path.join(projectRoot, 'bin', 'shipshape.js'), ...args], {
        env: TEST_ENV,
        cwd: projectRoot,
      });
    // The operator said the refund is handled elsewhere: round after round, it stays theirs.
    for (let round = 0; round < 2; round++) {
      const report = JSON.parse(
        (await cli('order', 'reconcile', '--stuck-for', '1h', '--json')).stdout,
      ) as ReconcileReport;
      assert.deepEqual(
        report.orphans.filter((o) => o.orderId === orderId),
        [],
      );
    }
    assert.equal(charges(orderId).length, 1);
    assert.equal(h.payment.state.ledger.refunds.length, 0);
    await assert.rejects(cli('order', 'reconcile'), (e: { code: number }) => e.code === 2);
  });
});
