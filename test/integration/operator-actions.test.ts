import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { Registry } from 'prom-client';
import type { OrderDetails } from '../../src/orders/order-service';
import { createLogger } from '../../src/platform/logger';
import { connectNats } from '../../src/platform/messaging/connection';
import { publishJson } from '../../src/platform/messaging/publish';
import { commandSubject } from '../../src/platform/messaging/subjects';
import { projectRoot } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { reconcilerDeps } from '../../src/processes/reconciler';
import { reconcilerMetrics } from '../../src/reconciler/metrics';
import { reconcileRound, ReconcilerState, startReconciler } from '../../src/reconciler/reconciler';
import { checkOpenOrders } from '../../src/reconciler/open-orders';
import { TERMINAL_STATUSES } from '../../src/domain/types';
import type { CommandEnvelope } from '../../src/domain/types';
import { cleanupWorkflowIdFor, orderIdOf, workflowIdFor } from '../../workflows/definitions';
import { TEST_ENV, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { ledgerOf, madeWhole } from '../support/ledger';
import type { PlacedOrder } from '../support/ledger';
import { temporalCli } from '../support/temporal-cli';

const run = promisify(execFile);

/** Each order: 2 units of 25.00 from a stock of 10, so 50 points when it completes. */
const STOCK = 10;
const QUANTITY = 2;
const POINTS = 50;
const completedWhole = { completed: true, stock: STOCK, quantity: QUANTITY, points: POINTS };
const undoneWhole = { ...completedWhole, completed: false };
/** Orders of one customer, all completed: the customer's points are theirs together. */
const completedWholeOf = (orders: unknown[]) => ({
  ...completedWhole,
  points: POINTS * orders.length,
});

/**
 * Every button an operator can press in Temporal's UI or CLI, pressed on real orders — terminate (one,
 * by query), reset (each type, by query), signals Temporal's CLI sends — and the project's own batch
 * CLI: each order ends whole, says how it ended, and nothing is charged or shipped twice. The whole app
 * in this process against the real stack, with a reconciler that looks every fraction of a second,
 * and step timeouts of a minute, so that nothing here finishes by waiting one out.
 */
describe('operator actions in Temporal: terminate, reset, signal, batch by query', function () {
  this.timeout(120_000);
  let h: Harness;
  let cli: Awaited<ReturnType<typeof temporalCli>>;
  let reconciler: { stop(): Promise<void> };
  let reconcilerTemporal: Client;
  const registry = new Registry();
  const metrics = reconcilerMetrics(registry);

  before(async function () {
    this.timeout(120_000);
    h = await startHarness({
      SHIPSHAPE_STEP_TIMEOUT_MS: '60000',
      SHIPSHAPE_MAX_DELIVER: '3', // a refund that keeps failing is dead-lettered in seconds
      SHIPSHAPE_COMPENSATION_ROUNDS: '1',
    });
    cli = await temporalCli(h.config);
    // The reconciler's own client: it signs the cleanups it starts, as the process does.
    reconcilerTemporal = await connectTemporalClient(h.config, 'reconciler');
    startBackgroundReconciler();
  });
  const reconcilerDepsOf = () =>
    reconcilerDeps(h.config, {
      temporal: reconcilerTemporal,
      pool: h.pool,
      ask: h.ask,
      log: createLogger('test-reconciler', h.config.logLevel),
      metrics,
    });
  /** The reconciler as it runs in production, but looking every fraction of a second. */
  function startBackgroundReconciler() {
    reconciler = startReconciler(reconcilerDepsOf(), {
      ...h.config.reconciler,
      periodMs: 1_000,
      cleanupPeriodMs: 300,
      thresholdMs: 3_000,
    });
  }
  /** Runs `fn` with the background reconciler stopped: its rounds would mix with what `fn` checks. */
  async function withoutBackgroundReconciler<T>(fn: () => Promise<T>): Promise<T> {
    await reconciler.stop();
    try {
      return await fn();
    } finally {
      startBackgroundReconciler();
    }
  }
  after(async function () {
    this.timeout(60_000);
    await reconciler?.stop();
    await reconcilerTemporal?.connection.close();
    for (const s of ['inventory', 'payment', 'loyalty', 'shipping'] as const)
      await h?.startService(s);
    await h?.stop();
  });
  afterEach(async () => {
    await h.startService('loyalty');
    await h.payment.app.inject({ method: 'POST', url: '/_control/reset' });
    await h.carrier.app.inject({ method: 'POST', url: '/_control/reset' });
  });

  async function place(customerId = uniqueId('cust')): Promise<PlacedOrder> {
    const sku = uniqueId('sku');
    const orderId = uniqueId('ord');
    await http(h, 'PUT', `/inventory/${sku}`, { available: STOCK });
    const r = await http(
      h,
      'POST',
      '/orders',
      orderBody({ orderId, customerId, sku, quantity: QUANTITY, unitPriceCents: 2_500 }),
    );
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return { orderId, sku, customerId };
  }
  const latestRun = (o: PlacedOrder) =>
    h.temporal.workflow.getHandle(workflowIdFor(o.orderId)).describe();
  /** Waits for a run of the order other than `runId` to complete. */
  const newRunCompleted = (o: PlacedOrder, runId: string) =>
    waitFor(
      `a new run of ${o.orderId} to complete`,
      async () => {
        const d = await latestRun(o);
        return d.runId !== runId && d.status.name === 'COMPLETED' ? d : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  const noCleanup = async (o: PlacedOrder) =>
    assert.rejects(
      h.temporal.workflow.getHandle(cleanupWorkflowIdFor(o.orderId)).describe(),
      WorkflowNotFoundError,
      'no cleanup was started: the order was never left unfinished',
    );
  /** The project's own CLI, as an operator runs it against the test stack. */
  const shipshape = (...args: string[]) =>
    run('node', [path.join(projectRoot, 'bin', 'shipshape.js'), ...args], {
      env: { ...TEST_ENV, PORT: new URL(h.apiUrl).port },
      cwd: projectRoot,
    });
  /** Waits until Temporal has deleted the order's workflow (a delete is done in the background). */
  const gone = (o: PlacedOrder) =>
    waitFor(`the workflow of ${o.orderId} to be gone`, () =>
      latestRun(o).then(
        () => false,
        (err: unknown) => err instanceof WorkflowNotFoundError,
      ),
    );
  const eventIds = async (o: PlacedOrder, runId: string) =>
    (await h.temporal.workflow.getHandle(workflowIdFor(o.orderId), runId).fetchHistory()).events ??
    [];

  describe('terminate', () => {
    it('right after the charge: refunded, stock back, no points, and the order says TERMINATED, why, and what was undone', async () => {
      await h.stopService('loyalty'); // the award waits in the stream
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      await cli(
        'workflow',
        'terminate',
        '--workflow-id',
        workflowIdFor(o.orderId),
        '--reason',
        'operator',
      );
      await h.startService('loyalty'); // the award lands after the close: refused, or undone
      const ended = await waitForOrder(h, o.orderId, hasStatus('TERMINATED'));
      assert.match(ended.failureReason ?? '', /^terminated in Temporal.*: operator$/);
      assert.equal(ended.steps?.payment.state, 'COMPENSATED');
      assert.equal(ended.steps?.payment.undone?.refunded, true);
      assert.equal(ended.steps?.inventory.undone?.released, QUANTITY);
      assert.equal(ended.steps?.shipping.state, 'SKIPPED');
      const shown = (await shipshape('order', 'get', o.orderId)).stdout;
      assert.match(shown, /TERMINATED/);
      assert.match(shown, /payment +COMPENSATED +undone: .*refunded true/);
      assert.match(shown, /reason: terminated in Temporal.*: operator/);
      const l = await madeWhole(h, o, undoneWhole);
      assert.equal(l.charges, 1, 'charged once, refunded once');
      assert.equal(l.shipments, 0);
    });

    it('while the carrier creates the shipment: the shipment is cancelled, the charge refunded', async () => {
      h.carrier.state.faults.latencyMs = 1_500;
      const o = await place();
      await waitFor('the create to be at the carrier', async () => {
        const { rowCount } = await h.pool.query(
          `SELECT 1 FROM shipping.provider_calls WHERE order_id = $1`,
          [o.orderId],
        );
        return rowCount === 1;
      });
      await cli(
        'workflow',
        'terminate',
        '--workflow-id',
        workflowIdFor(o.orderId),
        '--reason',
        'stuck',
      );
      const ended = await waitForOrder(h, o.orderId, hasStatus('TERMINATED'));
      assert.equal(ended.steps?.shipping.state, 'COMPENSATED');
      const l = await madeWhole(h, o, undoneWhole);
      assert.ok(l.shipments <= 1, `one shipment at most, ${l.shipments} made`);
    });

    it('by query: every order the query finds ends TERMINATED and whole', async () => {
      await h.stopService('loyalty');
      const customerId = uniqueId('batch');
      const orders = [await place(customerId), await place(customerId), await place(customerId)];
      for (const o of orders) await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      await cli(
        'workflow',
        'terminate',
        '--query',
        `CustomerId = "${customerId}" AND ExecutionStatus = "Running"`,
        '--reason',
        'batch terminate',
        '--yes',
      );
      await h.startService('loyalty');
      for (const o of orders) {
        const ended = await waitForOrder(h, o.orderId, hasStatus('TERMINATED'));
        assert.match(ended.failureReason ?? '', /batch terminate/);
        await madeWhole(h, o, undoneWhole);
      }
    });

    it('of an order whose saga had ended leaves it as it ended', async () => {
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('COMPLETED'));
      const { runId } = await latestRun(o);
      // Temporal refuses to terminate a closed run; the reconciler looks at it anyway, and leaves it.
      await assert.rejects(
        cli('workflow', 'terminate', '--workflow-id', workflowIdFor(o.orderId), '--reason', 'late'),
      );
      assert.equal((await latestRun(o)).runId, runId);
      await madeWhole(h, o, completedWhole);
      await noCleanup(o);
    });
  });

  describe('reset', () => {
    for (const type of ['FirstWorkflowTask', 'LastWorkflowTask'] as const) {
      it(`to ${type} of a completed order: completes again at once, every effect once`, async () => {
        const o = await place();
        await waitForOrder(h, o.orderId, hasStatus('COMPLETED'));
        const before = await latestRun(o);
        const started = Date.now();
        await cli(
          'workflow',
          'reset',
          '--workflow-id',
          workflowIdFor(o.orderId),
          '--type',
          type,
          '--reason',
          'test',
        );
        await newRunCompleted(o, before.runId);
        // Well inside one step timeout (60 s): no send waited for an answer JetStream had dropped.
        assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
        assert.equal((await waitForOrder(h, o.orderId)).status, 'COMPLETED');
        const l = await madeWhole(h, o, completedWhole);
        assert.equal(l.charges, 1);
        assert.equal(l.shipments, 1);
        await noCleanup(o);
      });
    }

    it('to a chosen event of an order in flight: the new run finishes it, the run it replaced is not undone', async () => {
      await h.stopService('loyalty');
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      const before = await latestRun(o);
      const events = await eventIds(o, before.runId);
      // The workflow task that took the charge's answer (and sent the award).
      const charged = events.findIndex((e) => e.activityTaskCompletedEventAttributes);
      const afterCharge = events
        .slice(charged)
        .filter((e) => e.workflowTaskCompletedEventAttributes);
      const eventId = String(afterCharge[1]?.eventId ?? afterCharge[0]!.eventId);
      await cli(
        'workflow',
        'reset',
        '--workflow-id',
        workflowIdFor(o.orderId),
        '--event-id',
        eventId,
        '--reason',
        'test',
      );
      await h.startService('loyalty');
      await newRunCompleted(o, before.runId);
      const replaced = await h.temporal.workflow
        .getHandle(workflowIdFor(o.orderId), before.runId)
        .describe();
      assert.equal(replaced.status.name, 'TERMINATED', 'the reset terminated the run it replaced');
      await madeWhole(h, o, completedWhole);
      await noCleanup(o);
    });

    it('of a failed, compensated order: nothing is charged or shipped, it ends FAILED saying why', async () => {
      const o = await place();
      h.payment.state.faults.refuseCustomerIds.push(o.customerId);
      await waitForOrder(h, o.orderId, hasStatus('FAILED'));
      h.payment.state.faults.refuseCustomerIds.length = 0; // the customer fixed their card
      const before = await latestRun(o);
      await cli(
        'workflow',
        'reset',
        '--workflow-id',
        workflowIdFor(o.orderId),
        '--type',
        'FirstWorkflowTask',
        '--reason',
        'card fixed',
      );
      await waitFor('the new run to end', async () => {
        const d = await latestRun(o);
        return d.runId !== before.runId && d.status.name === 'COMPLETED';
      });
      const ended = await waitForOrder(h, o.orderId, hasStatus('FAILED'));
      assert.equal(ended.failureReason, 'inventory: undone in an earlier run of this order');
      const l = await madeWhole(h, o, undoneWhole);
      assert.equal(l.charges, 0);
      assert.equal(l.shipments, 0);
    });

    for (const type of ['FirstWorkflowTask', 'LastWorkflowTask'] as const) {
      it(`to ${type} by query: every order the query finds completes again, every effect once`, async () => {
        const customerId = uniqueId('batch');
        const orders = [await place(customerId), await place(customerId)];
        for (const o of orders) await waitForOrder(h, o.orderId, hasStatus('COMPLETED'));
        const runs = await Promise.all(orders.map(latestRun));
        await cli(
          'workflow',
          'reset',
          '--query',
          `CustomerId = "${customerId}" AND ExecutionStatus = "Completed"`,
          '--type',
          type,
          '--reason',
          'batch reset',
          '--yes',
        );
        for (const [i, o] of orders.entries()) {
          await newRunCompleted(o, runs[i]!.runId);
          await madeWhole(h, o, completedWholeOf(orders));
        }
      });
    }
  });

  describe('signals and runs that cannot move an order on', () => {
    it("takes a reconcile that Temporal's CLI sent encrypted under a key the worker lacks, without a failed task", async () => {
      await h.stopService('loyalty');
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      await cli(
        'workflow',
        'signal',
        '--workflow-id',
        workflowIdFor(o.orderId),
        '--name',
        'reconcile',
        '--input',
        '{"reason":"by hand"}',
        '--input-meta',
        'encoding=binary/encrypted',
        '--input-meta',
        'encryption-key-id=a-key-nobody-has',
      );
      await h.startService('loyalty');
      await waitForOrder(h, o.orderId, hasStatus('COMPLETED'));
      const events = await eventIds(o, (await latestRun(o)).runId);
      assert.ok(
        events.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'reconcile'),
      );
      assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0);
    });

    it('reports a run whose workflow tasks keep failing as NEEDS_ATTENTION, and undoes nothing while it is open', async () => {
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('COMPLETED'));
      // A bug: the order's next run fails every workflow task (started by hand on a task queue whose
      // worker has broken workflow code).
      const broken = uniqueId('broken-queue');
      const bugged = await startBuggedWorker(h, broken);
      try {
        const failing = await bugged.start(o);
        const shown = await waitFor(
          'the order to show NEEDS_ATTENTION',
          async () => {
            const r = (await http<OrderDetails>(h, 'GET', `/orders/${o.orderId}`)).body;
            return r.status === 'NEEDS_ATTENTION' ? r : undefined;
          },
          { timeoutMs: 90_000, intervalMs: 500 },
        );
        assert.match(shown.attention ?? '', /workflow tasks keep failing/);
        assert.ok((await metrics.failingTasks.get()).values[0]!.value >= 1);
        assert.equal((await failing.describe()).status.name, 'RUNNING', 'never closed by itself');
        await noCleanup(o);
      } finally {
        await bugged.stop();
      }
    });
  });

  describe('effects no live order accounts for', () => {
    it('undoes a shipment that landed after the order failed, and the order stays FAILED', async () => {
      const o = await place();
      h.payment.state.faults.refuseCustomerIds.push(o.customerId);
      await waitForOrder(h, o.orderId, hasStatus('FAILED'));
      // A create that a replaced run left in the stream: the shipping service never heard of the
      // order, so it makes the shipment.
      const nc = await connectNats(h.config, 'admin', 'test-late-create');
      try {
        const workflowId = workflowIdFor(o.orderId);
        const late: CommandEnvelope<'shipping.create'> = {
          commandId: `${workflowId}:shipping.create:4`,
          type: 'shipping.create',
          orderId: o.orderId,
          workflowId,
          seq: 4,
          payload: { address: 'somewhere', items: [{ sku: o.sku, quantity: QUANTITY }] },
          sentBy: { runId: 'a-replaced-run', at: Date.now() },
        };
        await publishJson(
          jetstream(nc),
          commandSubject(late.type),
          late,
          `${late.commandId}@late`,
          late,
        );
      } finally {
        await nc.close();
      }
      await waitFor(
        'the late shipment to be made',
        async () => (await ledgerOf(h, o)).shipments === 1,
      );
      await madeWhole(h, o, undoneWhole);
      const ended = await waitForOrder(h, o.orderId, hasStatus('FAILED'));
      assert.equal(ended.steps?.shipping.undone?.cancelled, true);
    });
  });

  describe("the reconciler's sweep: bounded, oldest first, and honest", () => {
    it("gives up after its limit of cleanups, marks the order for a person, and takes the person's retry", async () => {
      await h.stopService('loyalty'); // every cleanup waits on the points' reversal
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      await cli('workflow', 'terminate', '--workflow-id', workflowIdFor(o.orderId));
      const cleanups = new Set<string>();
      const cleanup = h.temporal.workflow.getHandle(cleanupWorkflowIdFor(o.orderId));
      for (let n = 1; n <= h.config.reconciler.maxCleanups; n++) {
        const { runId } = await waitFor(
          `cleanup ${n} to run`,
          async () => {
            const d = await cleanup.describe().catch(() => undefined);
            return d?.status.name === 'RUNNING' && !cleanups.has(d.runId) ? d : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        cleanups.add(runId);
        await cli('workflow', 'terminate', '--workflow-id', cleanup.workflowId, '--run-id', runId);
      }
      const marked = await waitFor(
        'the order to be marked for a person',
        async () => {
          const r = (await http<OrderDetails>(h, 'GET', `/orders/${o.orderId}`)).body;
          return r.status === 'NEEDS_ATTENTION' ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.match(marked.attention ?? '', /3 cleanups did not leave it whole/);
      const gaveUp = (await metrics.actions.get()).values.find(
        (v) => v.labels.action === 'gave_up',
      );
      assert.ok((gaveUp?.value ?? 0) >= 1);
      assert.ok(cleanups.has((await cleanup.describe()).runId), 'no fourth cleanup was started');

      await h.startService('loyalty');
      const r = await http(h, 'POST', `/orders/${o.orderId}/resolve`, { action: 'retry' });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const ended = await waitForOrder(h, o.orderId, hasStatus('TERMINATED'));
      assert.match(ended.failureReason ?? '', /terminated in Temporal/);
      await madeWhole(h, o, undoneWhole);
    });

    it('never starts again an order whose workflow aged out of Temporal, and leaves what it holds to the person who gives it up', async () => {
      await h.stopService('loyalty');
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      // Accepted a month ago, older than the namespace's retention; then its workflow is gone (a
      // delete terminates a running run first: the reconciler looks again once it is gone).
      await h.pool.query(
        `UPDATE app.orders SET created_at = now() - interval '30 days' WHERE order_id = $1`,
        [o.orderId],
      );
      await withoutBackgroundReconciler(async () => {
        await cli('workflow', 'delete', '--workflow-id', workflowIdFor(o.orderId));
        await gone(o);
      });
      const marked = await waitFor(
        'the order to be marked for a person',
        async () => {
          const r = (await http<OrderDetails>(h, 'GET', `/orders/${o.orderId}`)).body;
          return r.status === 'NEEDS_ATTENTION' ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.match(marked.attention ?? '', /no longer in Temporal.*not started again/);
      await assert.rejects(latestRun(o), WorkflowNotFoundError, 'it was not started again');

      const r = await http(h, 'POST', `/orders/${o.orderId}/resolve`, {
        action: 'give-up',
        reason: 'refunded by hand',
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const ended = (await http<OrderDetails>(h, 'GET', `/orders/${o.orderId}`)).body;
      assert.equal(ended.status, 'FAILED');
      assert.match(ended.attention ?? '', /given up by an operator: refunded by hand/);
      // Rounds later, the charge it holds is still the operator's: nothing undid it.
      const report = await reconcileRound(
        reconcilerDepsOf(),
        { ...h.config.reconciler, thresholdMs: 3_000 },
        new ReconcilerState(),
      );
      assert.deepEqual(
        report.orphans.filter((x) => x.orderId === o.orderId),
        [],
      );
      assert.equal((await ledgerOf(h, o)).charged, 1);
    });

    it('counts and names the orders that have lived past their lifetime, and leaves them running', async () => {
      await h.stopService('loyalty');
      const o = await place();
      await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      await h.pool.query(
        `UPDATE app.orders SET created_at = now() - make_interval(hours => $2 + 1) WHERE order_id = $1`,
        [o.orderId, h.config.retention.orderLifetimeHours],
      );
      const report = await reconcileRound(
        reconcilerDepsOf(),
        { ...h.config.reconciler, thresholdMs: 3_000 },
        new ReconcilerState(),
      );
      assert.ok(report.overdue.includes(o.orderId), JSON.stringify(report.overdue));
      assert.ok(((await metrics.overdueOrders.get()).values[0]?.value ?? 0) >= 1);
      assert.equal((await latestRun(o)).status.name, 'RUNNING', 'nothing is done to it');
      await h.startService('loyalty');
      await madeWhole(h, o, completedWhole);
    });

    it('walks every order not ended, a page a round, so that orders it cannot settle do not hide the rest', async () => {
      // This test's rounds are the only ones.
      await withoutBackgroundReconciler(async () => {
        await h.stopService('loyalty');
        const orders = [await place(), await place()];
        for (const o of orders) {
          await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
          await cli('workflow', 'delete', '--workflow-id', workflowIdFor(o.orderId));
          await gone(o);
        }
        const { rows } = await h.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM app.orders WHERE status <> ALL($1)`,
          [TERMINAL_STATUSES],
        );
        const open = rows[0]!.n;
        const settings = { ...h.config.reconciler, thresholdMs: 0, maxPerRound: 1 };
        const state = new ReconcilerState();
        const started = new Set<string>();
        let rounds = 0;
        while (orders.some((o) => !started.has(o.orderId)) && rounds <= open + 1) {
          rounds++;
          for (const id of (await checkOpenOrders(reconcilerDepsOf(), settings, state)).started)
            started.add(id);
        }
        for (const o of orders)
          assert.ok(
            started.has(o.orderId),
            `${o.orderId} started again (${rounds} rounds, ${open} open, started ${[...started].join(', ')})`,
          );
        assert.ok(rounds <= open, `${rounds} rounds of one order for ${open} open orders`);
        await h.startService('loyalty');
        for (const o of orders) await madeWhole(h, o, completedWhole);
      });
    });
  });

  describe("the project's own batch CLI", () => {
    it('lists what a query finds with --dry-run and acts on nothing, then reconciles them as one Temporal batch', async () => {
      // The background reconciler signals an order stuck 3 s: its signals would be counted as the batch's.
      await withoutBackgroundReconciler(async () => {
        await h.stopService('loyalty');
        const customerId = uniqueId('batch');
        const orders = [await place(customerId), await place(customerId)];
        for (const o of orders) await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
        const query = `CustomerId = "${customerId}"`;
        const dry = await shipshape('orders', 'reconcile', '--query', query, '--dry-run', '--json');
        const listed = JSON.parse(dry.stdout) as {
          dryRun: boolean;
          orders: { orderId: string }[];
        };
        assert.equal(listed.dryRun, true);
        assert.deepEqual(
          listed.orders.map((x) => x.orderId).sort(),
          orders.map((x) => x.orderId).sort(),
        );
        const signalsOf = async (o: PlacedOrder) =>
          (await eventIds(o, (await latestRun(o)).runId)).filter(
            (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'reconcile',
          ).length;
        for (const o of orders) assert.equal(await signalsOf(o), 0, 'the dry run sent nothing');

        const done = await shipshape('orders', 'reconcile', '--query', query);
        assert.match(
          done.stdout,
          /reconcile sent to 2 order\(s\); 0 failed \(batch shipshape-reconcile-/,
        );
        assert.match(done.stderr, /temporal batch describe --job-id shipshape-reconcile-/);
        for (const o of orders) assert.equal(await signalsOf(o), 1);
        await h.startService('loyalty');
        for (const o of orders) await madeWhole(h, o, completedWholeOf(orders));
      });
    });

    it('cancels what a query finds, each through its cancel update, and says how many were cancelled', async () => {
      await h.stopService('loyalty');
      const customerId = uniqueId('batch');
      const orders = [await place(customerId), await place(customerId)];
      for (const o of orders) await waitForOrder(h, o.orderId, hasStatus('AWARDING_POINTS'));
      const r = await shipshape(
        'orders',
        'cancel',
        '--query',
        `CustomerId = "${customerId}"`,
        '--reason',
        'recall',
      );
      assert.match(r.stdout, /cancelled 2 of 2 order\(s\); refused 0/);
      await h.startService('loyalty');
      for (const o of orders) {
        assert.equal(
          (await waitForOrder(h, o.orderId, hasStatus('CANCELLED'))).failureReason,
          'recall',
        );
        await madeWhole(h, o, undoneWhole);
      }
    });

    it('resolves the orders that wait for an operator, and refuses a query Temporal cannot read', async () => {
      // The carrier refuses the address after a while; by then every refund attempt fails.
      h.carrier.state.faults.latencyMs = 1_500;
      const o = await place();
      h.carrier.state.faults.refuseOrderIds.push(o.orderId);
      await waitForOrder(h, o.orderId, hasStatus('CREATING_SHIPMENT'));
      h.payment.state.faults.failNext = 1_000_000;
      await waitForOrder(h, o.orderId, hasStatus('NEEDS_ATTENTION'));
      const r = await shipshape(
        'orders',
        'resolve',
        '--query',
        `CustomerId = "${o.customerId}"`,
        '--action',
        'give-up',
      );
      assert.match(r.stdout, /resolve \(give-up\) sent to 1 order\(s\)/);
      assert.equal(
        (await waitForOrder(h, o.orderId, hasStatus('FAILED'))).steps?.payment.state,
        'COMPENSATION_ABANDONED',
      );
      await assert.rejects(
        shipshape('orders', 'resolve', '--query', 'CustomerId = ', '--action', 'retry'),
        (e: { code: number; stderr: string }) =>
          e.code === 2 && /Temporal refused the query/.test(e.stderr),
      );
    });
  });
});

/**
 * A worker for a workflow that has a bug: it fails every workflow task (it throws a plain error, which
 * Temporal retries rather than failing the run). `start` runs the order's next run on it.
 */
async function startBuggedWorker(h: Harness, taskQueue: string) {
  const { bundleWorkflowCode, NativeConnection, Worker } = await import('@temporalio/worker');
  const connection = await NativeConnection.connect({ address: h.config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: h.config.temporal.namespace,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: require.resolve('../support/bugged-workflow'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    }),
  });
  const running = worker.run();
  let started: WorkflowExecutionDescription | undefined;
  return {
    async start(o: PlacedOrder) {
      const handle = await h.temporal.workflow.start('orderFulfillment', {
        taskQueue,
        workflowId: workflowIdFor(o.orderId),
        args: [{}],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      // The row says the order runs again, as after a start by hand.
      await h.pool.query(
        `UPDATE app.orders SET status = 'PENDING', created_at = now() - interval '1 minute' WHERE order_id = $1`,
        [o.orderId],
      );
      started = await handle.describe();
      return handle;
    },
    async stop() {
      // The order ended as it had before; the bugged run goes without anything to clean up.
      if (started)
        await h.pool.query(`UPDATE app.orders SET status = 'COMPLETED' WHERE order_id = $1`, [
          orderIdOf(started.workflowId),
        ]);
      if (started)
        await h.temporal.workflow
          .getHandle(started.workflowId, started.runId)
          .terminate('test over')
          .catch(() => undefined);
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
