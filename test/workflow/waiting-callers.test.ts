import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { OrderView } from '../../src/domain/types';
import type { WaitPoint } from '../../src/domain/wait-points';
import { waitOnOrderWorkflow } from '../../src/orders/order-waits';
import type { WaitOutcome } from '../../src/orders/order-waits';
import { waitForUpdate, workflowIdFor } from '../../workflows/definitions';
import { uniqueId } from '../support/env';
import { refuse, silent, testOrder } from '../support/scripted-services';
import type { Script } from '../support/scripted-services';
import { SETTINGS, stepStates, WorkflowBench } from '../support/workflow-bench';

describe('a caller waiting on an order: the waitFor update (a real Temporal dev server, scripted services)', function () {
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

  /** What the API does for a new order: the update, starting the order's run with it (signed as the API). */
  async function placeAndWait(
    until: WaitPoint,
    script: Script = {},
    opts: { orderId?: string; waitMs?: number } = {},
  ): Promise<{ orderId: string; outcome: WaitOutcome }> {
    const orderId = opts.orderId ?? uniqueId('ord');
    if (!opts.orderId) services.script(orderId, script);
    const outcome = await waitOnOrderWorkflow(bench.client, workflowIdFor(orderId), until, {
      withinMs: opts.waitMs ?? 20_000,
      start: {
        taskQueue: bench.taskQueue,
        settings: SETTINGS,
        order: testOrder(orderId),
        recorded: true,
      },
    });
    return { orderId, outcome };
  }

  const viewOf = (outcome: WaitOutcome): OrderView => {
    assert.equal(outcome.kind, 'reached', JSON.stringify(outcome));
    return (outcome as { view: OrderView }).view;
  };

  /** The runs Temporal holds of an order's workflow. */
  async function runsOf(orderId: string): Promise<string[]> {
    const runs: string[] = [];
    for await (const w of bench.client.workflow.list({
      query: `WorkflowId = '${workflowIdFor(orderId)}'`,
    }))
      runs.push(w.runId);
    return runs;
  }

  it('starts the order with the wait and answers once it is paid, while it goes on', async () => {
    // The points never come: the order stays after its charge.
    const { orderId, outcome } = await placeAndWait('paid', { 'loyalty.award': silent });
    const view = viewOf(outcome);
    assert.equal(view.steps.payment.state, 'SUCCEEDED');
    assert.equal(view.status, 'AWARDING_POINTS');
    assert.equal(view.steps.shipping.state, 'PENDING');
    assert.equal(services.recordedByRun.has(orderId), false, "the API's signed start is recorded");
  });

  it('answers `accepted` as soon as the run has the order, and `shipped` once the carrier has it', async () => {
    const accepted = viewOf(
      (await placeAndWait('accepted', { 'inventory.reserve': silent })).outcome,
    );
    assert.ok(['PENDING', 'RESERVING_INVENTORY'].includes(accepted.status), accepted.status);
    const shipped = viewOf((await placeAndWait('shipped')).outcome);
    assert.equal(shipped.steps.shipping.state, 'SUCCEEDED');
    assert.ok(['FINALIZING', 'COMPLETED'].includes(shipped.status), shipped.status);
  });

  it('ends the wait with the failed order when the card is declined', async () => {
    const { outcome } = await placeAndWait('shipped', {
      'payment.charge': refuse('card_declined'),
    });
    const view = viewOf(outcome);
    assert.equal(view.status, 'FAILED');
    assert.equal(view.failureReason, 'payment: card_declined');
    assert.deepEqual(stepStates(view), {
      inventory: 'COMPENSATED',
      payment: 'FAILED',
      loyalty: 'SKIPPED',
      shipping: 'SKIPPED',
    });
  });

  it('attaches to the run already started, and a wait that runs out leaves the order to complete', async () => {
    const { orderId, handle } = await bench.place(
      { 'payment.charge': silent },
      { stepTimeoutMs: 60_000 },
    );
    const { outcome } = await placeAndWait('paid', undefined, { orderId, waitMs: 1_500 });
    assert.deepEqual(outcome, { kind: 'waiting' });
    const charge = await bench.sent(orderId, 'payment.charge');
    // The service answers at last: the order completes, its one run answering the wait it still holds.
    await services.deliver({
      replyId: 'late',
      commandId: charge.commandId,
      type: 'payment.charge',
      orderId,
      workflowId: handle.workflowId,
      outcome: 'succeeded',
      result: { chargeId: 'ch_late' },
      replyTo: charge.activityId,
    });
    assert.equal((await bench.result(handle)).status, 'COMPLETED');
    assert.deepEqual(await runsOf(orderId), [(await handle.describe()).runId]);
    const history = (await handle.fetchHistory()).events ?? [];
    assert.equal(
      history.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length,
      1,
    );
  });

  it('never starts an order whose run has closed: the wait finds it closed', async () => {
    const { orderId, handle } = await bench.place({});
    assert.equal((await bench.result(handle)).status, 'COMPLETED');
    const again = await placeAndWait('paid', undefined, { orderId });
    assert.deepEqual(again.outcome, { kind: 'closed' });
    const plain = await waitOnOrderWorkflow(bench.client, handle.workflowId, 'paid', {
      withinMs: 10_000,
    });
    assert.deepEqual(plain, { kind: 'closed' });
    assert.deepEqual(await runsOf(orderId), [(await handle.describe()).runId]);
  });

  it('answers every wait before the run closes, cancelled orders included', async () => {
    const { orderId, handle } = await bench.place(
      { 'shipping.create': silent },
      { stepTimeoutMs: 60_000 },
    );
    const waits = [1, 2, 3].map(() =>
      waitOnOrderWorkflow(bench.client, handle.workflowId, 'shipped', {
        withinMs: 20_000,
      }),
    );
    await bench.sent(orderId, 'shipping.create');
    await handle.cancel();
    for (const outcome of await Promise.all(waits))
      assert.equal(viewOf(outcome).status, 'CANCELLED');
    assert.equal((await bench.result(handle)).status, 'CANCELLED');
  });

  it('ends each wait in the run with its time, so callers who gave up leave nothing open', async () => {
    const { handle } = await bench.place(
      { 'inventory.reserve': silent },
      { stepTimeoutMs: 60_000 },
    );
    // More, one after the other, than the 10 updates Temporal lets a run hold in flight.
    for (let i = 0; i < 11; i++) {
      const started = Date.now();
      const outcome = await waitOnOrderWorkflow(bench.client, handle.workflowId, 'paid', {
        withinMs: 200,
      });
      assert.deepEqual(outcome, { kind: 'waiting' });
      assert.ok(Date.now() - started < 2_000, `wait ${i} ended after ${Date.now() - started} ms`);
    }
    const history = (await handle.fetchHistory()).events ?? [];
    assert.equal(
      history.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes).length,
      11,
    );
  });

  it('refuses a point it does not know before it is in the history, naming it', async () => {
    const { handle } = await bench.place(
      { 'inventory.reserve': silent },
      { stepTimeoutMs: 60_000 },
    );
    const refused = await handle
      .executeUpdate(waitForUpdate, { args: [{ until: 'delivered' as WaitPoint }] })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(refused instanceof WorkflowUpdateFailedError, String(refused));
    assert.match(String(refused.cause?.message), /"until" must be one of accepted, paid, shipped/);
    const history = (await handle.fetchHistory()).events ?? [];
    assert.equal(
      history.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes),
      false,
    );
    // From the Temporal CLI, in clear: a wait only reads, so it is taken.
    const clear = await bench.clearClient.workflow
      .getHandle(handle.workflowId)
      .executeUpdate(waitForUpdate, { args: [{ until: 'accepted' }] });
    assert.equal(clear.orderId, handle.workflowId.replace(/^order-/, ''));
  });
});
