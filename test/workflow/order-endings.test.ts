import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CommandType, OrderView } from '../../src/domain/types';
import { waitFor } from '../../src/platform/wait';
import { closedRunFacts } from '../../src/reconciler/closed-runs';
import {
  CLEANUP_WORKFLOW_TYPE,
  cleanupWorkflowIdFor,
  ORDER_WORKFLOW_TYPE,
  orderStateQuery,
  resolveSignal,
  workflowIdFor,
} from '../../workflows/definitions';
import type { OrderCleanupInput } from '../../workflows/order-input';
import { uniqueId } from '../support/env';
import { deadLetter, refuse, silent, testOrder } from '../support/scripted-services';
import { forgedCharge, SETTINGS, stepStates, WorkflowBench } from '../support/workflow-bench';

/** Every undo, in the order a cleanup sends them: newest effect first. */
const UNDOS: CommandType[] = [
  'shipping.cancel',
  'loyalty.reverse',
  'payment.refund',
  'inventory.release',
];

describe('how an order ends when its run does not finish, and inputs it cannot trust (a real Temporal dev server, scripted services)', function () {
  this.timeout(30_000);
  const bench = new WorkflowBench();
  const { services } = bench;

  before(async function () {
    this.timeout(15 * 60_000); // a first run builds the Temporal CLI
    await bench.start();
  });
  after(async function () {
    this.timeout(60_000);
    await bench.stop();
  });

  /** What the reconciler does once the order's latest run has closed: its cleanup, to the end. */
  async function cleanUp(
    orderId: string,
    extra: Partial<OrderCleanupInput> = {},
  ): Promise<OrderView> {
    const closed = await bench.client.workflow.getHandle(workflowIdFor(orderId)).describe();
    const facts = await closedRunFacts({ temporal: bench.client, namespace: 'default' }, closed);
    const input: OrderCleanupInput = {
      order: testOrder(orderId),
      settings: SETTINGS,
      endAs: facts.endAs,
      reason: facts.reason,
      ...(facts.steps ? { steps: facts.steps } : {}),
      ...extra,
    };
    const handle = await bench.reconcilerClient.workflow.start(CLEANUP_WORKFLOW_TYPE, {
      taskQueue: bench.taskQueue,
      workflowId: cleanupWorkflowIdFor(orderId),
      args: [input],
    });
    return bench.result(handle);
  }

  /** The commands sent for an order after those of the given type. */
  const sentAfter = (orderId: string, type: CommandType) => {
    const types = services.sentTypes(orderId);
    return types.slice(types.lastIndexOf(type) + 1);
  };

  describe('a run that closed before its saga finished', () => {
    it('terminated right after its charge: the cleanup undoes newest first and the order ends TERMINATED, saying why and what it gave back', async () => {
      const { orderId, handle } = await bench.place(
        { 'loyalty.award': silent },
        { stepTimeoutMs: 60_000 },
      );
      await bench.sent(orderId, 'loyalty.award');
      await handle.terminate('operator pressed Terminate');
      const ended = await cleanUp(orderId);

      assert.equal(ended.status, 'TERMINATED');
      assert.match(
        ended.failureReason ?? '',
        /^terminated in Temporal.*: operator pressed Terminate$/,
      );
      assert.deepEqual(sentAfter(orderId, 'loyalty.award'), UNDOS);
      assert.deepEqual(stepStates(ended), {
        inventory: 'COMPENSATED',
        payment: 'COMPENSATED',
        loyalty: 'COMPENSATED',
        shipping: 'SKIPPED',
      });
      assert.deepEqual(ended.steps.payment.undone, { refunded: true });
      assert.deepEqual(ended.steps.inventory.undone, { released: 3 });
      assert.deepEqual(ended.steps.shipping.undone, { cancelled: false });
      // The orders table heard it: undoing first, then how it ended.
      const written = services.recorded(orderId).map((v) => v.status);
      assert.deepEqual(written.slice(-2), ['COMPENSATING', 'TERMINATED']);
    });

    it('terminated while the carrier creates the shipment: the shipment is cancelled too', async () => {
      const { orderId, handle } = await bench.place(
        { 'shipping.create': silent },
        { stepTimeoutMs: 60_000 },
      );
      await bench.sent(orderId, 'shipping.create');
      await handle.terminate('stuck at the carrier');
      const ended = await cleanUp(orderId);
      assert.equal(ended.status, 'TERMINATED');
      assert.deepEqual(sentAfter(orderId, 'shipping.create'), UNDOS);
      assert.equal(ended.steps.shipping.state, 'COMPENSATED');
      assert.deepEqual(ended.steps.loyalty.undone, { points: -25 });
    });

    for (const [what, timeout] of [
      ['run timeout', { workflowRunTimeout: '2 seconds' }],
      ['execution timeout', { workflowExecutionTimeout: '2 seconds' }],
    ] as const) {
      it(`hit its ${what}: the cleanup undoes what it did and the order ends TIMED_OUT`, async () => {
        const orderId = uniqueId('ord');
        services.script(orderId, { 'payment.charge': silent });
        const handle = await bench.client.workflow.start(ORDER_WORKFLOW_TYPE, {
          taskQueue: bench.taskQueue,
          workflowId: workflowIdFor(orderId),
          args: [
            {
              order: testOrder(orderId),
              settings: { ...SETTINGS, stepTimeoutMs: 60_000 },
              recorded: true,
            },
          ],
          ...timeout,
        });
        await assert.rejects(handle.result(), WorkflowFailedError);
        assert.equal((await handle.describe()).status.name, 'TIMED_OUT');
        const ended = await cleanUp(orderId);
        assert.equal(ended.status, 'TIMED_OUT');
        assert.match(ended.failureReason ?? '', /timed out in Temporal/);
        assert.deepEqual(sentAfter(orderId, 'payment.charge'), UNDOS);
        assert.equal(ended.steps.inventory.state, 'COMPENSATED');
      });
    }

    it('leaves alone a step whose compensation an operator gave up, and undoes the rest', async () => {
      const { orderId, handle } = await bench.place(
        { 'loyalty.award': silent },
        { stepTimeoutMs: 60_000 },
      );
      await bench.sent(orderId, 'loyalty.award');
      await handle.terminate('operator');
      const ended = await cleanUp(orderId, { leave: ['payment'] });
      assert.deepEqual(sentAfter(orderId, 'loyalty.award'), [
        'shipping.cancel',
        'loyalty.reverse',
        'inventory.release',
      ]);
      assert.equal(ended.steps.payment.state, 'SUCCEEDED');
    });

    it('waits for an operator when an undo keeps failing, and a retry finishes it', async () => {
      const { orderId, handle } = await bench.place(
        {
          'loyalty.award': silent,
          'payment.refund': [deadLetter('provider down'), { answer: 'ok' }],
        },
        { stepTimeoutMs: 60_000 },
      );
      await bench.sent(orderId, 'loyalty.award');
      await handle.terminate('operator');
      const cleaning = cleanUp(orderId);
      const cleanup = bench.client.workflow.getHandle(cleanupWorkflowIdFor(orderId));
      await waitFor('the cleanup to ask for an operator', async () => {
        try {
          return (await cleanup.query(orderStateQuery)).status === 'NEEDS_ATTENTION';
        } catch {
          return false;
        }
      });
      await cleanup.signal(resolveSignal, { action: 'retry', workflowId: cleanup.workflowId });
      const ended = await cleaning;
      assert.equal(ended.status, 'TERMINATED');
      assert.equal(ended.steps.payment.state, 'COMPENSATED');
    });
  });

  describe('an order whose effect was undone in an earlier run (a reset)', () => {
    it('stops at a step its service says was undone: nothing is built on it', async () => {
      const { orderId, handle } = await bench.place({ 'inventory.reserve': refuse('undone') });
      const done = await bench.result(handle);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.failureReason, 'inventory: undone in an earlier run of this order');
      assert.deepEqual(services.sentTypes(orderId), ['inventory.reserve']);
    });

    it('stops at points its service says were undone, although points never fail an order otherwise', async () => {
      const { orderId, handle } = await bench.place({ 'loyalty.award': refuse('undone') });
      const done = await bench.result(handle);
      assert.equal(done.status, 'FAILED');
      assert.deepEqual(sentAfter(orderId, 'loyalty.award'), [
        'loyalty.reverse',
        'payment.refund',
        'inventory.release',
      ]);
      assert.equal(done.steps.shipping.state, 'SKIPPED');
    });

    it('stops at a stock commit its service says was undone, and undoes every step before it', async () => {
      const { orderId, handle } = await bench.place({ 'inventory.commit': refuse('undone') });
      const done = await bench.result(handle);
      assert.equal(done.status, 'FAILED');
      assert.deepEqual(sentAfter(orderId, 'inventory.commit'), UNDOS);
    });
  });

  describe("inputs it cannot decode or trust, sent as Temporal's own tools can", () => {
    /** An order waiting at its charge (no answer to the first send) long enough to be sent things. */
    const waitingAtCharge = async () => {
      const placed = await bench.place({ 'payment.charge': [silent, { answer: 'ok' }] });
      const charge = await bench.sent(placed.orderId, 'payment.charge');
      return { ...placed, charge };
    };
    const rejectedOf = async (h: WorkflowHandle) => (await bench.stateOf(h)).rejectedInputs ?? [];

    it('ignores a reply encrypted under a key the worker does not have, shows it on the order, and never fails a task', async () => {
      const { handle, charge } = await waitingAtCharge();
      await bench.unknownKeyClient.workflow
        .getHandle(handle.workflowId)
        .signal('reply', forgedCharge(handle, charge.commandId));
      await bench.handledSoFar(handle);
      const rejected = await rejectedOf(handle);
      assert.equal(rejected.length, 1, JSON.stringify(rejected));
      assert.match(rejected[0]!, /^a reply signal: it could not be decrypted .*"not-the-workers"/);
      const done = await bench.result(handle);
      assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' });
      assert.equal(await bench.failedTasks(handle), 0);
    });

    it('ignores a reply cut short (it fails authentication)', async () => {
      const { handle, charge } = await waitingAtCharge();
      await bench.truncatingClient.workflow
        .getHandle(handle.workflowId)
        .signal('reply', forgedCharge(handle, charge.commandId));
      await bench.handledSoFar(handle);
      assert.match((await rejectedOf(handle))[0] ?? '', /failed authentication|too short/);
      assert.equal((await bench.result(handle)).status, 'COMPLETED');
      assert.equal(await bench.failedTasks(handle), 0);
    });

    it('ignores a reply of the wrong shape, and a dead-letter notice of the wrong shape', async () => {
      const { handle } = await waitingAtCharge();
      const asBridge = bench.bridgeClient.workflow.getHandle(handle.workflowId);
      await asBridge.signal('reply', { commandId: 42, outcome: 'maybe' });
      await asBridge.signal('deadLetter', ['not', 'a', 'notice']);
      await bench.handledSoFar(handle);
      assert.deepEqual(await rejectedOf(handle), [
        'a reply signal: it is not a service reply',
        'a dead-letter signal: it is not a dead-letter notice',
      ]);
      assert.equal((await bench.result(handle)).status, 'COMPLETED');
      assert.equal(await bench.failedTasks(handle), 0);
    });

    it('refuses a cancel it cannot decrypt, saying so, and goes on', async () => {
      const { handle } = await waitingAtCharge();
      for (const sender of [bench.unknownKeyClient, bench.truncatingClient])
        await assert.rejects(
          sender.workflow.getHandle(handle.workflowId).executeUpdate('cancel', { args: [{}] }),
          (err: Error) => {
            assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
            assert.match(String(err.cause?.message), /the cancel could not be decrypted/);
            return true;
          },
        );
      assert.equal((await bench.result(handle)).status, 'COMPLETED');
      assert.equal(await bench.failedTasks(handle), 0);
    });

    it('ignores a resolve it cannot decrypt or of the wrong shape: the order still waits for an operator', async () => {
      const { handle } = await bench.place({
        'shipping.create': refuse('address_rejected'),
        'payment.refund': deadLetter('provider keeps failing'),
      });
      await bench.waitForStatus(handle, 'NEEDS_ATTENTION');
      await bench.unknownKeyClient.workflow
        .getHandle(handle.workflowId)
        .signal('resolve', { action: 'give-up' });
      await handle.signal('resolve', { action: 'maybe', workflowId: handle.workflowId });
      await bench.handledSoFar(handle);
      assert.equal((await bench.stateOf(handle)).status, 'NEEDS_ATTENTION');
      const rejected = await rejectedOf(handle);
      assert.match(rejected[0] ?? '', /^a resolve: it could not be decrypted/);
      assert.equal(rejected[1], 'a resolve: it has no action "retry" or "give-up"');
      await handle.signal(resolveSignal, { action: 'give-up', workflowId: handle.workflowId });
      assert.equal((await bench.result(handle)).status, 'FAILED');
      assert.equal(await bench.failedTasks(handle), 0);
    });

    it('takes a reconcile it cannot decrypt as a reconcile', async () => {
      const { orderId, handle } = await bench.place(
        { 'payment.charge': [silent, { answer: 'ok' }] },
        { stepTimeoutMs: 60_000 },
      );
      await bench.sent(orderId, 'payment.charge');
      await bench.unknownKeyClient.workflow.getHandle(handle.workflowId).signal('reconcile', {});
      assert.equal((await bench.result(handle)).status, 'COMPLETED');
      assert.equal(await bench.failedTasks(handle), 0);
    });

    it('fails a run started with an input it cannot decrypt at once, saying why', async () => {
      const orderId = uniqueId('ord');
      const handle = await bench.unknownKeyClient.workflow.start(ORDER_WORKFLOW_TYPE, {
        taskQueue: bench.taskQueue,
        workflowId: workflowIdFor(orderId),
        args: [{ order: testOrder(orderId), settings: SETTINGS }],
      });
      await assert.rejects(handle.result(), (err: Error) => {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'InvalidWorkflowInput');
        assert.match(err.cause.message, /could not be decrypted/);
        return true;
      });
      assert.deepEqual(services.sends(orderId), []);
    });
  });

  describe('inputs that only their signer may send', () => {
    const waitingAtCharge = async () => {
      const placed = await bench.place({ 'payment.charge': [silent, { answer: 'ok' }] });
      const charge = await bench.sent(placed.orderId, 'payment.charge');
      return { ...placed, charge };
    };
    const rejectedOf = async (h: WorkflowHandle) => (await bench.stateOf(h)).rejectedInputs ?? [];

    it("ignores a reply the codec server encoded with an operator's key: only the reply bridge's count", async () => {
      const { handle, charge } = await waitingAtCharge();
      await bench.operatorClient.workflow
        .getHandle(handle.workflowId)
        .signal('reply', { ...forgedCharge(handle, charge.commandId), from: 'payment' });
      await bench.handledSoFar(handle);
      assert.match(
        (await rejectedOf(handle))[0] ?? '',
        /^a reply signal: it is not signed by the reply-bridge/,
      );
      const done = await bench.result(handle);
      assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' }, 'the service’s own charge');
    });

    it('ignores a reply the bridge passed on from another service than the one the command went to', async () => {
      const { handle, charge } = await waitingAtCharge();
      await bench.bridgeClient.workflow
        .getHandle(handle.workflowId)
        .signal('reply', { ...forgedCharge(handle, charge.commandId), from: 'inventory' });
      await bench.handledSoFar(handle);
      assert.match(
        (await rejectedOf(handle))[0] ?? '',
        /went to payment, the reply came from inventory/,
      );
      assert.deepEqual((await bench.result(handle)).steps.payment.result, { chargeId: 'ch_1' });
    });

    it('counts an activity completed by hand as no answer: the step sends again', async () => {
      const { handle, charge } = await waitingAtCharge();
      await bench.operatorClient.activity.complete(
        { workflowId: handle.workflowId, activityId: charge.activityId },
        { ...forgedCharge(handle, charge.commandId), from: 'payment' },
      );
      const done = await bench.result(handle);
      assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' });
      assert.equal(done.steps.payment.sends, 2, 'the hand-made answer did not end the step');
      assert.match(
        (await rejectedOf(handle))[0] ?? '',
        new RegExp(`^the result of ${charge.commandId}: it is not signed by the reply-bridge`),
      );
    });

    it('ignores a dead-letter notice the reply bridge did not sign', async () => {
      const { handle, charge } = await waitingAtCharge();
      await bench.operatorClient.workflow
        .getHandle(handle.workflowId)
        .signal('deadLetter', { commandId: charge.commandId, reason: 'forged' });
      await bench.handledSoFar(handle);
      assert.match((await rejectedOf(handle))[0] ?? '', /^a dead-letter signal: it is not signed/);
      assert.equal((await bench.result(handle)).status, 'COMPLETED');
    });

    it('ignores a resolve the API did not sign, or signed for another workflow', async () => {
      const { handle } = await bench.place({
        'shipping.create': refuse('address_rejected'),
        'payment.refund': deadLetter('provider keeps failing'),
      });
      await bench.waitForStatus(handle, 'NEEDS_ATTENTION');
      await bench.operatorClient.workflow
        .getHandle(handle.workflowId)
        .signal(resolveSignal, { action: 'give-up', workflowId: handle.workflowId });
      await handle.signal(resolveSignal, { action: 'give-up', workflowId: 'order-another' });
      await bench.handledSoFar(handle);
      assert.equal((await bench.stateOf(handle)).status, 'NEEDS_ATTENTION');
      const rejected = await rejectedOf(handle);
      assert.match(rejected[0] ?? '', /^a resolve: it is not signed by the api/);
      assert.equal(rejected[1], 'a resolve: it was signed for another workflow');
      await handle.signal(resolveSignal, { action: 'give-up', workflowId: handle.workflowId });
      assert.equal((await bench.result(handle)).status, 'FAILED');
    });

    it('records the order itself when a start says "recorded" but the API did not sign it', async () => {
      const forged = uniqueId('ord');
      const handle = await bench.operatorClient.workflow.start(ORDER_WORKFLOW_TYPE, {
        taskQueue: bench.taskQueue,
        workflowId: workflowIdFor(forged),
        args: [{ order: testOrder(forged), settings: SETTINGS, recorded: true }],
      });
      assert.equal((await bench.result(handle)).status, 'COMPLETED');
      assert.ok(services.recordedByRun.has(forged), 'the run wrote the order row itself');
      const { orderId: placed, handle: signed } = await bench.place({});
      await bench.result(signed);
      assert.ok(
        !services.recordedByRun.has(placed),
        'an order the API recorded is not written again',
      );
    });

    it('fails a cleanup that the reconciler did not start, before it undoes anything', async () => {
      const orderId = uniqueId('ord');
      const handle = await bench.operatorClient.workflow.start(CLEANUP_WORKFLOW_TYPE, {
        taskQueue: bench.taskQueue,
        workflowId: cleanupWorkflowIdFor(orderId),
        args: [
          {
            order: testOrder(orderId),
            settings: SETTINGS,
            endAs: 'TERMINATED',
            reason: 'forged',
            leave: ['payment'],
          } satisfies OrderCleanupInput,
        ],
      });
      await assert.rejects(handle.result(), (err: Error) => {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.match(err.cause.message, /not signed by the reconciler/);
        return true;
      });
      assert.deepEqual(services.sends(orderId), []);
    });
  });
});
