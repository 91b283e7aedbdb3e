import type { OrderView, StepView } from '../src/domain/types';
import { recordOrderOutcome } from './activity-stubs';
import { command, CommandDelivery } from './command-delivery';
import type { CommandSpec } from './command-delivery';
import { checkedCleanupInput } from './order-input';
import type { OrderCleanupInput } from './order-input';
import { answerOrderRequests } from './order-handlers';
import { OrderProgress } from './order-progress';
import { OrderSaga } from './saga';
import { UNDO_ORDER } from '../src/domain/compensations';
import { orderTotalCents } from '../src/domain/orders';
import type { StepName } from '../src/domain/types';

export type { OrderCleanupInput } from './order-input';

/**
 * What Temporal leaves to the application when an order's run closes before its saga finished (it was
 * terminated, or hit a run or execution timeout): every effect the order may hold is undone, newest
 * first — the shipment cancelled, the points taken back, the charge refunded, the stock given back —
 * and the order ends with a status that says how its run closed. The reconciler starts this, as the
 * workflow `cleanup-order-<orderId>`, once the latest run of `order-<orderId>` is closed; it also
 * undoes what an ended order still holds (an effect that landed after its saga compensated).
 *
 * Each undo goes to its service whatever the closed run did: one that finds nothing does nothing, and
 * every service then lets only this run act on the order, so a command the closed run left in the
 * stream is refused when it arrives. A step an operator gave up the compensation of is left alone.
 */
export async function orderCleanup(input: OrderCleanupInput): Promise<OrderView> {
  const { order, settings, endAs, reason, steps, leave = [] } = checkedCleanupInput(input);
  const progress = new OrderProgress(order, settings.stepTimeoutMs, steps);
  // Cleanups began after signatures: every reply they take is the reply bridge's.
  const commands = new CommandDelivery(order, progress, settings, { signed: true });
  const saga = new OrderSaga(progress, commands, settings);
  answerOrderRequests({ progress, commands, saga });

  progress.stoppedBecause(reason);
  progress.setStatus('COMPENSATING');
  await recordOrderOutcome(progress.view);
  for (const step of UNDO_ORDER) {
    if (leave.includes(step)) continue;
    const before = progress.step(step).state;
    const undone = await saga.undo(step, undoOf(step, order));
    // A step the closed run never reached, where its service held nothing, was skipped, not undone.
    if (before === 'PENDING' && undone && !tookBack(undone))
      progress.setStep(step, 'SKIPPED', { undone });
  }
  return saga.finish(endAs);
}

/** The command that undoes a step, for an order whose forward commands' ids may be unknown. */
function undoOf(step: StepName, order: OrderCleanupInput['order']): CommandSpec {
  switch (step) {
    case 'shipping':
      return command('shipping.cancel', {});
    case 'loyalty':
      return command('loyalty.reverse', { customerId: order.customerId });
    case 'payment':
      return command('payment.refund', { amountCents: orderTotalCents(order) });
    case 'inventory':
      return command('inventory.release', {});
  }
}

/** Whether an undo's answer says it gave something back (refunded, cancelled, released, points). */
function tookBack(undone: NonNullable<StepView['undone']>): boolean {
  return (
    undone.refunded === true ||
    undone.cancelled === true ||
    (typeof undone.released === 'number' && undone.released > 0) ||
    (typeof undone.points === 'number' && undone.points < 0)
  );
}
