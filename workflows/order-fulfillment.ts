import {
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  log,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type {
  CommandPayloads,
  CommandType,
  OrderRequest,
  OrderStatus,
  OrderView,
  ReplyEnvelope,
  StepName,
  StepState,
} from '../src/domain/types';
import {
  cancelSignal,
  orderStateQuery,
  OrderStatusKey,
  reconcileSignal,
  replySignal,
} from './definitions';

export interface OrderWorkflowSettings {
  /** How long a step waits for its reply before the command is sent again. */
  stepTimeoutMs: number;
  /** How many times one command is sent before the step gives up. */
  stepMaxSends: number;
}

export interface OrderWorkflowInput {
  order: OrderRequest;
  settings: OrderWorkflowSettings;
}

type Activities = ReturnType<typeof createActivities>;

const { publishCommand } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 ms',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 100,
  },
});
const { recordOrderOutcome } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 100,
  },
});

interface Compensation {
  step: StepName;
  type: CommandType;
  payload: CommandPayloads[CommandType];
}

export const orderTotalCents = (order: OrderRequest): number =>
  order.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);

/**
 * One order, start to finish: reserve stock → charge → award points → ship → commit stock.
 * Each step is a command over JetStream with a deterministic id; the workflow waits for its reply on a
 * durable timer and re-sends the same command on timeout. A failed step compensates, in reverse order,
 * every step that succeeded.
 */
export async function orderFulfillment(input: OrderWorkflowInput): Promise<OrderView> {
  const { order, settings } = input;
  const { workflowId } = workflowInfo();
  const items = order.items.map((i) => ({ sku: i.sku, quantity: i.quantity }));
  const totalCents = orderTotalCents(order);

  const view: OrderView = {
    orderId: order.orderId,
    workflowId,
    customerId: order.customerId,
    status: 'PENDING',
    totalCents,
    currency: order.currency,
    steps: {
      inventory: { state: 'PENDING' },
      payment: { state: 'PENDING' },
      loyalty: { state: 'PENDING' },
      shipping: { state: 'PENDING' },
    },
  };
  const sent = new Set<string>();
  const replies = new Map<string, ReplyEnvelope>();
  let seq = 0;
  let cancelRequested: string | undefined;
  let reconcileRequests = 0;

  setHandler(orderStateQuery, () => view);
  setHandler(replySignal, (reply) => {
    // A reply for a command this run never sent, or one already seen, changes nothing.
    if (!sent.has(reply.commandId) || replies.has(reply.commandId)) return;
    replies.set(reply.commandId, reply);
  });
  setHandler(reconcileSignal, () => {
    reconcileRequests += 1;
  });
  setHandler(cancelSignal, ({ reason }) => {
    if (view.steps.shipping.state === 'SUCCEEDED' || isTerminal(view.status)) return;
    cancelRequested ??= reason ?? 'cancelled on request';
  });

  const setStatus = (status: OrderStatus) => {
    view.status = status;
    upsertSearchAttributes([{ key: OrderStatusKey, value: status }]);
  };
  const setStep = (
    step: StepName,
    state: StepState,
    extra: Partial<OrderView['steps'][StepName]> = {},
  ) => {
    view.steps[step] = { ...view.steps[step], state, ...extra };
  };

  /** Sends one command and waits for its reply, re-sending on timeout. Undefined when it never came. */
  async function send<T extends CommandType>(
    type: T,
    payload: CommandPayloads[T],
  ): Promise<ReplyEnvelope | undefined> {
    seq += 1;
    const commandId = `${workflowId}:${type}:${seq}`;
    sent.add(commandId);
    for (let attempt = 1; attempt <= settings.stepMaxSends; attempt++) {
      await publishCommand({ commandId, type, orderId: order.orderId, workflowId, seq, payload });
      const reconcilesBefore = reconcileRequests;
      await condition(
        () => replies.has(commandId) || reconcileRequests > reconcilesBefore,
        settings.stepTimeoutMs,
      );
      if (replies.has(commandId)) return replies.get(commandId);
      if (reconcileRequests > reconcilesBefore) {
        // A reconcile re-sends at once and does not use up an attempt.
        attempt -= 1;
        log.info('reconcile requested; sending the command again', { commandId });
      } else {
        log.warn('no reply in time; sending the command again', { commandId, attempt });
      }
    }
    return undefined;
  }

  const compensations: Compensation[] = [];

  /** Runs a forward step; true when it succeeded. */
  async function forward<T extends CommandType>(
    step: StepName,
    status: OrderStatus,
    type: T,
    payload: CommandPayloads[T],
  ): Promise<ReplyEnvelope | undefined> {
    setStatus(status);
    const commandId = `${workflowId}:${type}:${seq + 1}`;
    setStep(step, 'IN_PROGRESS', { commandId });
    const reply = await send(type, payload);
    if (reply?.outcome === 'succeeded') {
      setStep(step, 'SUCCEEDED', reply.result ? { result: reply.result } : {});
      return reply;
    }
    const detail = reply ? (reply.error?.code ?? 'rejected') : 'no reply from the service';
    setStep(step, 'FAILED', { detail });
    view.failureReason ??= `${step}: ${detail}`;
    return undefined;
  }

  async function compensate(): Promise<void> {
    setStatus('COMPENSATING');
    for (const c of compensations.reverse()) {
      setStep(c.step, 'COMPENSATING');
      // Compensations must happen: keep sending until the service confirms.
      for (;;) {
        const reply = await send(c.type, c.payload);
        if (reply?.outcome === 'succeeded') break;
        log.error('compensation not confirmed; trying again', { type: c.type, reply });
      }
      setStep(c.step, 'COMPENSATED');
    }
  }

  const finish = async (status: OrderStatus): Promise<OrderView> => {
    for (const s of ['inventory', 'payment', 'loyalty', 'shipping'] as const) {
      if (view.steps[s].state === 'PENDING') setStep(s, 'SKIPPED');
    }
    setStatus(status);
    await recordOrderOutcome(view);
    return view;
  };

  const stopIfCancelled = async (): Promise<OrderView | undefined> => {
    if (cancelRequested === undefined) return undefined;
    view.failureReason = cancelRequested;
    await compensate();
    return finish('CANCELLED');
  };

  const failed = async (): Promise<OrderView> => {
    await compensate();
    return finish('FAILED');
  };

  // 1. Stock, all items or none.
  const reserve = await forward('inventory', 'RESERVING_INVENTORY', 'inventory.reserve', { items });
  if (!reserve) {
    // A reservation may still land after we gave up waiting; a release makes sure it is undone.
    if (view.steps.inventory.detail === 'no reply from the service') {
      compensations.push({
        step: 'inventory',
        type: 'inventory.release',
        payload: { reserveCommandId: view.steps.inventory.commandId! },
      });
    }
    return failed();
  }
  compensations.push({
    step: 'inventory',
    type: 'inventory.release',
    payload: { reserveCommandId: reserve.commandId },
  });
  const cancelled1 = await stopIfCancelled();
  if (cancelled1) return cancelled1;

  // 2. Payment.
  const charge = await forward('payment', 'CHARGING_PAYMENT', 'payment.charge', {
    customerId: order.customerId,
    amountCents: totalCents,
    currency: order.currency,
  });
  if (!charge) return failed();
  compensations.push({
    step: 'payment',
    type: 'payment.refund',
    payload: {
      chargeCommandId: charge.commandId,
      chargeId: String(charge.result?.chargeId),
      amountCents: totalCents,
    },
  });
  const cancelled2 = await stopIfCancelled();
  if (cancelled2) return cancelled2;

  // 3. Loyalty points. Never fails the order: the reversal is queued either way, so points credited
  // after we stopped waiting are still taken back if the order fails later.
  setStatus('AWARDING_POINTS');
  const awardCommandId = `${workflowId}:loyalty.award:${seq + 1}`;
  setStep('loyalty', 'IN_PROGRESS', { commandId: awardCommandId });
  const award = await send('loyalty.award', {
    customerId: order.customerId,
    orderTotalCents: totalCents,
  });
  if (award?.outcome === 'succeeded')
    setStep('loyalty', 'SUCCEEDED', award.result ? { result: award.result } : {});
  else setStep('loyalty', 'FAILED', { detail: award?.error?.code ?? 'no reply from the service' });
  compensations.push({
    step: 'loyalty',
    type: 'loyalty.reverse',
    payload: { awardCommandId, customerId: order.customerId },
  });
  const cancelled3 = await stopIfCancelled();
  if (cancelled3) return cancelled3;

  // 4. Shipment: once the carrier has it, the order can no longer be cancelled.
  const shipment = await forward('shipping', 'CREATING_SHIPMENT', 'shipping.create', {
    address: order.shippingAddress,
    items,
  });
  if (!shipment) return failed();

  // 5. The reserved stock leaves the warehouse for good.
  setStatus('FINALIZING');
  for (;;) {
    const commit = await send('inventory.commit', { reserveCommandId: reserve.commandId });
    if (commit?.outcome === 'succeeded') break;
  }
  return finish('COMPLETED');
}

function isTerminal(status: OrderStatus): boolean {
  return status === 'COMPLETED' || status === 'CANCELLED' || status === 'FAILED';
}
