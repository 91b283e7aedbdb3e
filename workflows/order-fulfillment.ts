import { allHandlersFinished, CancellationScope, condition } from '@temporalio/workflow';
import type { OrderView } from '../src/domain/types';
import { recordOrderAccepted } from './activity-stubs';
import { command, CommandDelivery } from './command-delivery';
import { answerOrderRequests } from './order-handlers';
import { checkedInput, orderRunTrust } from './order-input';
import type { OrderWorkflowInput } from './order-input';
import { OrderProgress } from './order-progress';
import { OrderSaga, OrderStopped } from './saga';

export type { OrderWorkflowInput, OrderWorkflowSettings } from './order-input';

/**
 * One order, start to finish: reserve stock → charge → award points → ship → commit stock.
 *
 * Each step is a command to its service, confirmed by the service's reply (how a command travels, is
 * sent again and reconciled: command-delivery.ts). A step that may have had an effect queues its
 * compensation; when the order stops — a service says no, no answer comes, a command is dead-lettered,
 * the order is cancelled — every queued compensation runs, newest first, and a compensation that keeps
 * failing waits for an operator instead of being dropped (saga.ts).
 */
export async function orderFulfillment(input: OrderWorkflowInput): Promise<OrderView> {
  const trust = orderRunTrust();
  const { order, settings, recorded } = checkedInput(input, trust);
  const progress = new OrderProgress(order, settings.stepTimeoutMs);
  const commands = new CommandDelivery(order, progress, settings, trust);
  const saga = new OrderSaga(progress, commands, settings);
  answerOrderRequests({
    progress,
    commands,
    saga,
    // A cancel is refused once the carrier has the shipment, and once the order has ended.
    cancel: (reason) => {
      if (progress.step('shipping').state === 'SUCCEEDED')
        return { accepted: false, reason: 'the shipment has been handed to the carrier' };
      if (progress.ended)
        return { accepted: false, reason: `the order is already ${progress.status}` };
      saga.cancel(reason);
      return { accepted: true };
    },
  });

  return CancellationScope.nonCancellable(async () => {
    if (!recorded) await recordOrderAccepted(order, progress.view.workflowId);
    const { customerId, currency } = order;
    const items = order.items.map(({ sku, quantity }) => ({ sku, quantity }));
    const amountCents = progress.view.totalCents;
    try {
      // 1. Stock, all items or none.
      const reservation = await saga.step({
        name: 'inventory',
        shows: 'RESERVING_INVENTORY',
        command: command('inventory.reserve', { items }),
        undo: (reserveCommandId) => command('inventory.release', { reserveCommandId }),
      });
      // 2. Payment.
      await saga.step({
        name: 'payment',
        shows: 'CHARGING_PAYMENT',
        command: command('payment.charge', { customerId, amountCents, currency }),
        undo: (chargeCommandId) => command('payment.refund', { chargeCommandId, amountCents }),
      });
      // 3. Loyalty points never fail an order: an award that does not go through is retried in the
      //    background once the order has completed.
      const unawarded = await saga.bestEffortStep({
        name: 'loyalty',
        shows: 'AWARDING_POINTS',
        command: command('loyalty.award', { customerId, orderTotalCents: amountCents }),
        undo: (awardCommandId) => command('loyalty.reverse', { awardCommandId, customerId }),
      });
      // 4. The shipment: once the carrier has it, the order can no longer be cancelled.
      await saga.step({
        name: 'shipping',
        shows: 'CREATING_SHIPMENT',
        command: command('shipping.create', { address: order.shippingAddress, items }),
        undo: (createCommandId) => command('shipping.cancel', { createCommandId }),
      });
      // 5. The reserved stock leaves the warehouse for good: confirmed, whatever it takes.
      progress.setStatus('FINALIZING');
      await saga.confirm(
        'inventory',
        command('inventory.commit', { reserveCommandId: reservation.commandId }),
      );
      const completed = await saga.finish('COMPLETED');
      if (unawarded) await saga.retryInBackground('loyalty', unawarded);
      return await answeredAll(completed);
    } catch (err) {
      if (err instanceof OrderStopped) return answeredAll(await saga.stop());
      throw err;
    }
  });
}

/** The run closes only once every caller waiting on the order (`waitFor`) has had its answer. */
async function answeredAll(ended: OrderView): Promise<OrderView> {
  await condition(allHandlersFinished);
  return ended;
}
