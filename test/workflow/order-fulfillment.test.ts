import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CommandType } from '../../src/domain/types';
import { waitFor } from '../../src/platform/wait';
import {
  cancelUpdate,
  reconcileSignal,
  replySignal,
  resolveSignal,
  workflowIdFor,
} from '../../workflows/definitions';
import { uniqueId } from '../support/env';
import {
  deadLetter,
  later,
  lost,
  ok,
  refuse,
  silent,
  testOrder,
} from '../support/scripted-services';
import type { Script } from '../support/scripted-services';
import { forgedCharge, SETTINGS, stepStates, WorkflowBench } from '../support/workflow-bench';

/** The carrier rejects the address, so the charge must be refunded; the refund does as `refund` says. */
const failingRefund = (refund: Script['payment.refund']): Script => ({
  'shipping.create': refuse('address_rejected'),
  'payment.refund': refund,
});

describe('the order workflow on its own (a real Temporal dev server, scripted services)', function () {
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

  const place = bench.place.bind(bench);
  const { result, stateOf, sent, waitForStatus } = bench;
  const handledSoFar = bench.handledSoFar.bind(bench);

  describe('the business process', () => {
    it('reserves, charges, awards points, ships and commits, each command once under its own id', async () => {
      const { orderId, handle } = await place({});
      const done = await result(handle);
      assert.equal(done.status, 'COMPLETED');
      assert.deepEqual(stepStates(done), {
        inventory: 'SUCCEEDED',
        payment: 'SUCCEEDED',
        loyalty: 'SUCCEEDED',
        shipping: 'SUCCEEDED',
      });
      assert.equal(done.totalCents, 2_500);
      assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' });
      const workflowId = workflowIdFor(orderId);
      assert.deepEqual(
        services.sends(orderId).map((s) => [s.commandId, s.msgId]),
        [
          `inventory.reserve:1`,
          `payment.charge:2`,
          `loyalty.award:3`,
          `shipping.create:4`,
          `inventory.commit:5`,
        ].map((c) => [`${workflowId}:${c}`, `${workflowId}:${c}`]),
      );
      assert.equal(services.recorded(orderId).at(-1)?.status, 'COMPLETED');
    });

    const refusals: {
      what: string;
      refused: CommandType;
      code: string;
      sent: CommandType[];
      steps: Record<string, string>;
    }[] = [
      {
        what: 'a declined card: the stock is released, nothing shipped, no points',
        refused: 'payment.charge',
        code: 'card_declined',
        sent: ['inventory.reserve', 'payment.charge', 'inventory.release'],
        steps: {
          inventory: 'COMPENSATED',
          payment: 'FAILED',
          loyalty: 'SKIPPED',
          shipping: 'SKIPPED',
        },
      },
      {
        what: 'more than the stock: nothing else is sent',
        refused: 'inventory.reserve',
        code: 'out_of_stock',
        sent: ['inventory.reserve'],
        steps: { inventory: 'FAILED', payment: 'SKIPPED', loyalty: 'SKIPPED', shipping: 'SKIPPED' },
      },
      {
        what: 'an address the carrier rejects: points, charge and stock undone, newest first',
        refused: 'shipping.create',
        code: 'address_rejected',
        sent: [
          'inventory.reserve',
          'payment.charge',
          'loyalty.award',
          'shipping.create',
          'loyalty.reverse',
          'payment.refund',
          'inventory.release',
        ],
        steps: {
          inventory: 'COMPENSATED',
          payment: 'COMPENSATED',
          loyalty: 'COMPENSATED',
          shipping: 'FAILED',
        },
      },
    ];
    for (const { what, refused, code, sent, steps } of refusals) {
      it(`fails an order for ${what}`, async () => {
        const { orderId, handle } = await place({ [refused]: refuse(code) });
        const done = await result(handle);
        assert.equal(done.status, 'FAILED');
        assert.equal(done.failureReason, `${refused.split('.')[0]}: ${code}`);
        assert.deepEqual(services.sentTypes(orderId), sent);
        assert.deepEqual(stepStates(done), steps);
      });
    }

    it('completes an order whose points cannot be awarded, and awards them in the background', async () => {
      const { orderId, handle } = await place({
        'loyalty.award': [deadLetter('loyalty service away'), ok],
      });
      const done = await result(handle);
      assert.equal(done.status, 'COMPLETED');
      const first = services.recorded(orderId)[0]!;
      assert.equal(first.status, 'COMPLETED');
      assert.equal(first.steps.loyalty.state, 'RETRYING');
      assert.match(first.steps.loyalty.detail ?? '', /dead-lettered: loyalty service away/);
      assert.equal(done.steps.loyalty.state, 'SUCCEEDED');
      assert.equal(done.steps.loyalty.detail, 'after 1 background retries');
      assert.equal(services.recorded(orderId).at(-1)?.steps.loyalty.state, 'SUCCEEDED');
      const awards = services.sends(orderId).filter((s) => s.type === 'loyalty.award');
      assert.equal(new Set(awards.map((a) => a.commandId)).size, 1, 'one award command');
      assert.notEqual(awards[1]!.msgId, awards[0]!.msgId, 'the retry is a message of its own');
    });
  });

  describe('cancel', () => {
    const cases: { at: CommandType; undone: CommandType[] }[] = [
      { at: 'inventory.reserve', undone: ['inventory.release'] },
      { at: 'payment.charge', undone: ['payment.refund', 'inventory.release'] },
      {
        at: 'loyalty.award',
        undone: ['loyalty.reverse', 'payment.refund', 'inventory.release'],
      },
      {
        at: 'shipping.create',
        undone: ['shipping.cancel', 'loyalty.reverse', 'payment.refund', 'inventory.release'],
      },
    ];
    for (const { at, undone } of cases) {
      it(`cancels while ${at} waits for its answer, and undoes it and every step before it`, async () => {
        const { orderId, handle } = await place({ [at]: [silent, ok] }, { stepTimeoutMs: 30_000 });
        await sent(orderId, at);
        const answer = await handle.executeUpdate(cancelUpdate, {
          args: [{ reason: 'customer changed their mind' }],
        });
        assert.deepEqual(answer, { accepted: true });
        const done = await result(handle);
        assert.equal(done.status, 'CANCELLED');
        assert.equal(done.failureReason, 'customer changed their mind');
        const types = services.sentTypes(orderId);
        assert.deepEqual(types.slice(types.indexOf(at) + 1), undone);
      });
    }

    it('stops before the next step when the cancel comes with the answer', async () => {
      const { orderId, handle } = await place({ 'inventory.reserve': later(1_500) });
      await sent(orderId, 'inventory.reserve');
      await handle.executeUpdate(cancelUpdate, { args: [{}] });
      const done = await result(handle);
      assert.equal(done.status, 'CANCELLED');
      assert.deepEqual(services.sentTypes(orderId), ['inventory.reserve', 'inventory.release']);
    });

    it('refuses a cancel once the carrier has the shipment', async () => {
      const { orderId, handle } = await place({ 'inventory.commit': [silent, ok] });
      await sent(orderId, 'inventory.commit');
      assert.deepEqual(await handle.executeUpdate(cancelUpdate, { args: [{}] }), {
        accepted: false,
        reason: 'the shipment has been handed to the carrier',
      });
      const done = await result(handle);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(services.sentTypes(orderId).at(-1), 'inventory.commit');
    });

    it("takes Temporal's own cancel as the order's cancel: it compensates, nothing is cut off", async () => {
      const { orderId, handle } = await place(
        { 'payment.charge': [silent, ok] },
        { stepTimeoutMs: 30_000 },
      );
      await sent(orderId, 'payment.charge');
      await handle.cancel();
      const done = await result(handle);
      assert.equal(done.status, 'CANCELLED');
      assert.equal(done.failureReason, 'cancelled in Temporal');
      assert.deepEqual(services.sentTypes(orderId).slice(2), [
        'payment.refund',
        'inventory.release',
      ]);
      assert.deepEqual(stepStates(done), {
        inventory: 'COMPENSATED',
        payment: 'COMPENSATED',
        loyalty: 'SKIPPED',
        shipping: 'SKIPPED',
      });
    });
  });

  describe('timeouts, re-sends and message ids', () => {
    it('sends a command again when no answer comes in the step timeout, under the same message id', async () => {
      const { orderId, handle } = await place({ 'payment.charge': [silent, ok] });
      const done = await result(handle);
      assert.equal(done.status, 'COMPLETED');
      const charges = services.sends(orderId).filter((s) => s.type === 'payment.charge');
      assert.equal(charges.length, 2);
      assert.equal(charges[1]!.commandId, charges[0]!.commandId);
      assert.equal(charges[1]!.msgId, charges[0]!.msgId, 'JetStream still holds the first copy');
      assert.notEqual(charges[1]!.activityId, charges[0]!.activityId);
      assert.equal(done.steps.payment.sends, 2);
    });

    it('gives a re-send past the duplicate window a fresh message id, so that it is stored at all', async () => {
      const { orderId, handle } = await place(
        { 'payment.charge': [silent, ok] },
        { duplicateWindowMs: 500 },
      );
      await result(handle);
      const charges = services.sends(orderId).filter((s) => s.type === 'payment.charge');
      assert.deepEqual(
        charges.map((c) => c.msgId),
        [charges[0]!.commandId, `${charges[0]!.commandId}#n1`],
      );
    });

    it('fails the step after its last send, and refunds the charge that may have happened', async () => {
      const { orderId, handle } = await place({ 'payment.charge': silent }, { stepMaxSends: 2 });
      const done = await result(handle);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.failureReason, 'payment: no reply from the service');
      assert.deepEqual(services.sentTypes(orderId), [
        'inventory.reserve',
        'payment.charge',
        'payment.charge',
        'payment.refund',
        'inventory.release',
      ]);
    });
  });

  describe('reconcile', () => {
    const senders: [string, (h: WorkflowHandle) => Promise<void>][] = [
      ['encrypted', (h) => h.signal(reconcileSignal, { reason: 'stuck' })],
      // The Temporal CLI without the codec server: the input reaches Temporal unencrypted.
      [
        'in clear',
        (h) => bench.clearClient.workflow.getHandle(h.workflowId).signal('reconcile', {}),
      ],
    ];
    for (const [how, reconcile] of senders) {
      it(`finds the effect done by the service and moves on with its stored answer (a reconcile sent ${how})`, async () => {
        const { orderId, handle } = await place(
          { 'payment.charge': lost },
          { stepTimeoutMs: 60_000 },
        );
        const charge = await sent(orderId, 'payment.charge');
        await waitFor('the charge to be made', () => services.handled(charge.commandId));
        await reconcile(handle);
        const done = await result(handle);
        assert.equal(done.status, 'COMPLETED');
        assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' });
        assert.equal(services.sends(orderId).filter((s) => s.type === 'payment.charge').length, 1);
        assert.deepEqual((await stateOf(handle)).reconciled, [
          `${charge.commandId}: found done by the service`,
        ]);
      });
    }

    it('sends the command again at once, under a fresh message id, when the service never got it', async () => {
      const { orderId, handle } = await place(
        { 'payment.charge': [silent, ok] },
        { stepTimeoutMs: 60_000 },
      );
      const charge = await sent(orderId, 'payment.charge');
      await handle.signal(reconcileSignal, {});
      const done = await result(handle);
      assert.equal(done.status, 'COMPLETED');
      const charges = services.sends(orderId).filter((s) => s.type === 'payment.charge');
      assert.deepEqual(
        charges.map((c) => c.msgId),
        [charge.commandId, `${charge.commandId}#n1`],
      );
      assert.deepEqual((await stateOf(handle)).reconciled, [
        `${charge.commandId}: not done by the service; sent again`,
      ]);
    });
  });

  describe('dead letters', () => {
    it('stops waiting for a dead-lettered command: the order fails with the reason, the possible charge refunded', async () => {
      const { orderId, handle } = await place(
        { 'payment.charge': deadLetter('failed 3 deliveries') },
        { stepTimeoutMs: 60_000 },
      );
      const done = await result(handle);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.failureReason, 'payment: dead-lettered: failed 3 deliveries');
      assert.deepEqual(services.sentTypes(orderId).slice(2), [
        'payment.refund',
        'inventory.release',
      ]);
    });
  });

  describe('a compensation that keeps failing', () => {
    it('waits for an operator (NEEDS_ATTENTION), and a retry resumes it', async () => {
      const { orderId, handle } = await place(
        failingRefund([deadLetter('provider keeps failing'), ok]),
      );
      await waitForStatus(handle, 'NEEDS_ATTENTION');
      const waiting = services.recorded(orderId).at(-1)!;
      assert.equal(waiting.status, 'NEEDS_ATTENTION');
      assert.match(
        waiting.attention ?? '',
        /payment\.refund .* not confirmed after 1 rounds: dead-lettered: provider keeps failing/,
      );
      await handle.signal(resolveSignal, { action: 'retry', workflowId: handle.workflowId });
      const done = await result(handle);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.steps.payment.state, 'COMPENSATED');
      assert.equal(done.attention, undefined);
    });

    it('marks the compensation abandoned when the operator gives up, and goes on with the rest', async () => {
      const { orderId, handle } = await place(failingRefund(deadLetter('provider keeps failing')));
      await waitForStatus(handle, 'NEEDS_ATTENTION');
      await handle.signal(resolveSignal, {
        action: 'give-up',
        workflowId: handle.workflowId,
        reason: 'refunded by hand',
      });
      const done = await result(handle);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.steps.payment.state, 'COMPENSATION_ABANDONED');
      assert.equal(done.steps.inventory.state, 'COMPENSATED');
      assert.equal(services.sentTypes(orderId).at(-1), 'inventory.release');
    });

    it('is resolved by a confirmation that arrives late, without an operator', async () => {
      const { orderId, handle } = await place(failingRefund(silent), { stepMaxSends: 1 });
      await waitForStatus(handle, 'NEEDS_ATTENTION');
      const refund = services.sends(orderId).find((s) => s.type === 'payment.refund')!;
      await services.deliver({
        replyId: `reply:${refund.commandId}`,
        commandId: refund.commandId,
        type: 'payment.refund',
        orderId,
        workflowId: handle.workflowId,
        outcome: 'succeeded',
        replyTo: refund.activityId,
      });
      const done = await result(handle);
      assert.equal(done.status, 'FAILED');
      assert.equal(done.steps.payment.state, 'COMPENSATED');
    });
  });

  describe('replies that must change nothing', () => {
    it('ignores a repeated reply: a refusal already seen does not answer the next round', async () => {
      const { orderId, handle } = await place(failingRefund([refuse('refund_failed'), silent]), {
        stepMaxSends: 1,
        stepTimeoutMs: 2_000,
      });
      await waitForStatus(handle, 'NEEDS_ATTENTION');
      const refund = services.sends(orderId).find((s) => s.type === 'payment.refund')!;
      await handle.signal(resolveSignal, { action: 'retry', workflowId: handle.workflowId });
      await sent(orderId, 'payment.refund', 2);
      // The bridge delivers the first round's refusal once more while the second round waits.
      await handle.signal(replySignal, {
        replyId: `${refund.commandId}:reply`,
        commandId: refund.commandId,
        type: 'payment.refund',
        orderId,
        workflowId: handle.workflowId,
        outcome: 'rejected',
        error: { code: 'refund_failed', message: 'refused' },
      });
      await waitFor('the second round to end', () =>
        services.recorded(orderId).filter((v) => v.status === 'NEEDS_ATTENTION').length === 2
          ? true
          : undefined,
      );
      const attention = services.recorded(orderId).filter((v) => v.status === 'NEEDS_ATTENTION');
      assert.match(attention[0]!.attention ?? '', /after 1 rounds: refund_failed/);
      assert.match(attention[1]!.attention ?? '', /after 2 rounds: no reply from the service/);
      await handle.signal(resolveSignal, { action: 'give-up', workflowId: handle.workflowId });
      assert.equal((await result(handle)).status, 'FAILED');
    });

    it('ignores a reply to a command it has not sent, even one it will send next', async () => {
      const { orderId, handle } = await place({ 'inventory.reserve': later(1_000) });
      await sent(orderId, 'inventory.reserve');
      const chargeId = `${handle.workflowId}:payment.charge:2`;
      await handle.signal(replySignal, forgedCharge(handle, chargeId));
      const done = await result(handle);
      assert.equal(done.status, 'COMPLETED');
      assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' });
    });
  });

  describe("inputs from Temporal's own tools, encrypted or not", () => {
    it('takes a reconcile with no input or any input, and never fails a workflow task over it', async () => {
      const { orderId, handle } = await place(
        { 'payment.charge': [silent, ok] },
        { stepTimeoutMs: 60_000 },
      );
      await sent(orderId, 'payment.charge');
      const clear = bench.clearClient.workflow.getHandle(handle.workflowId);
      await clear.signal('reconcile');
      await clear.signal('reconcile', 'not an object');
      assert.equal((await result(handle)).status, 'COMPLETED');
      const failedTasks = ((await handle.fetchHistory()).events ?? []).filter(
        (e) => e.workflowTaskFailedEventAttributes,
      );
      assert.equal(failedTasks.length, 0);
    });

    it('ignores a reply sent in clear: the step waits for its service', async () => {
      const { orderId, handle } = await place({ 'payment.charge': [silent, ok] });
      const charge = await sent(orderId, 'payment.charge');
      await bench.clearClient.workflow
        .getHandle(handle.workflowId)
        .signal('reply', forgedCharge(handle, charge.commandId));
      const done = await result(handle);
      assert.deepEqual(done.steps.payment.result, { chargeId: 'ch_1' });
      assert.equal(done.steps.payment.sends, 2);
    });

    it('refuses a cancel sent in clear, naming how to cancel', async () => {
      const { orderId, handle } = await place(
        { 'payment.charge': [silent, ok] },
        { stepTimeoutMs: 3_000 },
      );
      await sent(orderId, 'payment.charge');
      await assert.rejects(
        bench.clearClient.workflow
          .getHandle(handle.workflowId)
          .executeUpdate('cancel', { args: [{}] }),
        (err: Error) => {
          assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
          assert.match(String(err.cause?.message), /reached Temporal unencrypted: cancel through/);
          return true;
        },
      );
      assert.equal((await result(handle)).status, 'COMPLETED');
    });

    it('ignores a resolve sent in clear: the order still waits for an operator', async () => {
      const { handle } = await place(failingRefund(deadLetter('provider keeps failing')));
      await waitForStatus(handle, 'NEEDS_ATTENTION');
      await bench.clearClient.workflow
        .getHandle(handle.workflowId)
        .signal('resolve', { action: 'give-up' });
      await handledSoFar(handle);
      assert.equal((await stateOf(handle)).status, 'NEEDS_ATTENTION');
      await handle.signal(resolveSignal, { action: 'give-up', workflowId: handle.workflowId });
      assert.equal((await result(handle)).status, 'FAILED');
    });

    it('fails a run started with an unencrypted input at once, saying why', async () => {
      const orderId = uniqueId('ord');
      const handle = await bench.clearClient.workflow.start('orderFulfillment', {
        taskQueue: bench.taskQueue,
        workflowId: workflowIdFor(orderId),
        args: [{ order: testOrder(orderId), settings: SETTINGS }],
      });
      await assert.rejects(handle.result(), (err: Error) => {
        assert.ok(err instanceof WorkflowFailedError, String(err));
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'InvalidWorkflowInput');
        assert.match(err.cause.message, /reached Temporal unencrypted/);
        return true;
      });
      assert.deepEqual(services.sends(orderId), []);
    });
  });
});
