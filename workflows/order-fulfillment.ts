import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { createActivities } from '../activities';
import type {
  CommandEnvelope,
  CommandPayloads,
  CommandType,
  OrderRequest,
  OrderStatus,
  OrderView,
  ReplyEnvelope,
  StepName,
  StepState,
  StepView,
} from '../src/domain/types';
import {
  cancelUpdate,
  deadLetterSignal,
  orderStateQuery,
  OrderStatusKey,
  OrderProgressAtKey,
  reconcileSignal,
  replySignal,
  resolveSignal,
} from './definitions';

export interface OrderWorkflowSettings {
  /** How long a step waits for its reply before the command is sent again. */
  stepTimeoutMs: number;
  /** How many times one command is sent before the step gives up. */
  stepMaxSends: number;
  /** JetStream's duplicate window: a re-send after it needs a fresh Nats-Msg-Id to be stored at all. */
  duplicateWindowMs: number;
  /** Rounds of sends a compensation gets before the order asks for attention. */
  compensationRounds: number;
  /** Pause between background retries of the loyalty points of a completed order. */
  loyaltyRetryMs: number;
}

export interface OrderWorkflowInput {
  order: OrderRequest;
  settings: OrderWorkflowSettings;
  /** True when the starter already wrote the order's row (the API does): the workflow skips that write. */
  recorded?: boolean;
  /** ORDER_WORKFLOW_REVISION when it was started; absent in runs started before revisions existed (1). */
  revision?: number;
}

type Activities = ReturnType<typeof createActivities>;

/**
 * Publishing is a regular activity, not a local one: a local activity runs inside the workflow task, so a
 * task that times out and is thrown away (a slow or killed worker) would still have published — a command
 * the retried task may never issue, or a compensation it decides against. A regular activity runs only
 * once the task that scheduled it is in the history.
 */
const publishOptions = {
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 ms',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 100,
  },
} as const;
const { publishCommand } = proxyActivities<Activities>(publishOptions);
// Histories made while publishing was a local activity replay with it.
const { publishCommand: publishCommandLocally } = proxyLocalActivities<Activities>(publishOptions);
/** How long a send keeps trying to hand its command to a broker that refuses it. */
const PUBLISH_BUDGET_MS = 15 * 60_000;

/** How one send of a command through `sendCommand` ended. */
type SendResult =
  | { kind: 'reply' }
  | { kind: 'timeout' }
  | { kind: 'interrupted' }
  | { kind: 'failed'; message: string };

function sendFailure(err: unknown): SendResult {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.HEARTBEAT)
    return { kind: 'timeout' }; // published, and no answer within the step timeout
  return { kind: 'failed', message: cause instanceof Error ? cause.message : String(cause) };
}

const { lookupReply } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 10,
  },
});
const { recordOrderOutcome, recordOrderAccepted } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 100,
  },
});

type Outcome =
  | { kind: 'succeeded'; reply: ReplyEnvelope }
  | { kind: 'rejected'; code: string; message: string }
  | { kind: 'dead_lettered'; reason: string }
  | { kind: 'no_reply' }
  | { kind: 'cancelled' };

interface Compensation {
  step: StepName;
  type: CommandType;
  payload: CommandPayloads[CommandType];
}

export const orderTotalCents = (order: OrderRequest): number =>
  order.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);

const toOutcome = (reply: ReplyEnvelope): Outcome =>
  reply.outcome === 'succeeded'
    ? { kind: 'succeeded', reply }
    : {
        kind: 'rejected',
        code: reply.error?.code ?? 'rejected',
        message: reply.error?.message ?? '',
      };

const isTerminal = (s: OrderStatus) => s === 'COMPLETED' || s === 'CANCELLED' || s === 'FAILED';

function describe(o: Outcome): string {
  switch (o.kind) {
    case 'succeeded':
      return 'succeeded';
    case 'rejected':
      return o.code;
    case 'dead_lettered':
      return `dead-lettered: ${o.reason}`;
    case 'no_reply':
      return 'no reply from the service';
    case 'cancelled':
      return 'cancelled while waiting';
  }
}

/**
 * One order, start to finish: reserve stock → charge → award points → ship → commit stock.
 *
 * Each step is a command over JetStream with a deterministic id `<workflowId>:<type>:<seq>`; the
 * workflow waits for its reply on a durable timer and re-sends the same command on timeout (the
 * workflow is the message-send table, its timers the re-send job). A step that fails, or whose effect is
 * uncertain, makes the workflow compensate every step that may have happened, newest first; services
 * refuse a command older than one they already applied, so a late effect can never outlive its
 * compensation. A compensation that keeps failing waits for an operator instead of being dropped.
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
  const issued = new Set<string>();
  const answers = new Map<string, Outcome>();
  const seenReplies = new Set<string>();
  let seq = 0;
  /** Sends so far: each send's activity id is unique, also when a command is sent again. */
  let sends = 0;
  let cancelRequested: string | undefined;
  let reconciles = 0;
  /** What each reconcile found, newest last (kept short): shown by the orderState query. */
  const reconcileLog: string[] = [];
  let resolution: 'retry' | 'give-up' | undefined;
  const compensations: Compensation[] = [];

  setHandler(orderStateQuery, () => ({
    ...view,
    ...(reconcileLog.length ? { reconciled: reconcileLog.slice(-10) } : {}),
  }));
  /** A reply, however it came: one for a command this run never sent, or one already seen, changes nothing. */
  const acceptReply = (reply: ReplyEnvelope) => {
    if (!issued.has(reply.commandId) || seenReplies.has(reply.replyId)) return;
    seenReplies.add(reply.replyId);
    answers.set(reply.commandId, toOutcome(reply));
  };
  setHandler(replySignal, acceptReply);
  setHandler(deadLetterSignal, ({ commandId, reason }) => {
    if (!issued.has(commandId) || answers.get(commandId)?.kind === 'succeeded') return;
    answers.set(commandId, { kind: 'dead_lettered', reason });
  });
  setHandler(cancelUpdate, ({ reason }) => {
    if (view.steps.shipping.state === 'SUCCEEDED') {
      return { accepted: false, reason: 'the shipment has been handed to the carrier' };
    }
    if (isTerminal(view.status))
      return { accepted: false, reason: `the order is already ${view.status}` };
    cancelRequested ??= reason ?? 'cancelled on request';
    return { accepted: true };
  });
  setHandler(reconcileSignal, () => {
    reconciles += 1;
    if (view.status === 'NEEDS_ATTENTION') resolution ??= 'retry';
  });
  setHandler(resolveSignal, ({ action }) => {
    if (view.status === 'NEEDS_ATTENTION') resolution = action;
  });

  /**
   * The search attributes are written when an order becomes worth finding, not at every step: each
   * write is a history event and a visibility write, the largest share of the server's work per order
   * after the steps themselves. An order that moves along keeps the PENDING it started with; from the
   * moment it has to send a command again, has run longer than a step timeout, compensates or waits for
   * an operator, every status change is written, with the time of its progress. So `OrderProgressAt`
   * is never older than two step timeouts for an order that moves, which is what the reconciler's
   * threshold (larger) relies on. Runs of revision 1 write at every step, as they did.
   */
  const revision = input.revision ?? 1;
  const marksWhenSlow = revision >= 2;
  let slow = false;
  let markedAt = Date.now();
  const mark = () => {
    markedAt = Date.now();
    upsertSearchAttributes([
      { key: OrderStatusKey, value: view.status },
      { key: OrderProgressAtKey, value: new Date() },
    ]);
  };
  const worthMarking = (status: OrderStatus) =>
    isTerminal(status) || status === 'COMPENSATING' || status === 'NEEDS_ATTENTION';
  /** Revision 2: an order is slow from its first reason to be found, or once it has run a step timeout. */
  const becomesSlow = (reason: boolean) =>
    (slow ||= reason || Date.now() - markedAt >= settings.stepTimeoutMs);

  // Revision 1: a status change marks progress itself, and a send within a second of it need not mark it again.
  let statusMarkedAt: number | undefined;
  const setStatus = (status: OrderStatus) => {
    view.status = status;
    if (marksWhenSlow) {
      if (becomesSlow(worthMarking(status))) mark();
      return;
    }
    statusMarkedAt = Date.now();
    mark();
  };
  /** A command was sent; `again` when it is a re-send (no answer in time, or a later round). */
  const progressed = (again: boolean) => {
    if (marksWhenSlow) {
      // The status change just before a first send has marked it already.
      if (becomesSlow(again) && (again || Date.now() - markedAt >= 1000)) mark();
      return;
    }
    const justMarked = statusMarkedAt !== undefined && Date.now() - statusMarkedAt < 1000;
    statusMarkedAt = undefined;
    if (justMarked && patched('progress-marked-once-per-step')) return;
    upsertSearchAttributes([{ key: OrderProgressAtKey, value: new Date() }]);
  };
  const setStep = (step: StepName, state: StepState, extra: Partial<StepView> = {}) => {
    view.steps[step] = { ...view.steps[step], state, ...extra };
  };

  /**
   * One send as one activity that the answer itself completes (through the reply bridge). Stops waiting
   * when `interrupted` turns true: a cancel, a reconcile, or an answer that came another way (a reply to
   * an earlier send, or a dead letter). From revision 3 the activity is then left open rather than
   * cancelled, and a reply that completes it later still counts: the service answers the first copy of
   * a command it gets, and that answer may be on its way to this activity when a reconcile sends the
   * command again (a cancelled activity's answer was dropped, and the service's repeat of it is the
   * same message, which JetStream discards as a duplicate for the duplicate window).
   */
  async function sendAwaitingReply(
    cmd: CommandEnvelope,
    msgId: string,
    interrupted: () => boolean,
  ): Promise<SendResult> {
    sends += 1;
    const keepsListening = revision >= 3;
    const { sendCommand } = proxyActivities<Activities>({
      activityId: `${cmd.commandId}~${sends}`,
      heartbeatTimeout: settings.stepTimeoutMs,
      startToCloseTimeout: settings.stepTimeoutMs + PUBLISH_BUDGET_MS,
      retry: { maximumAttempts: 1 },
      cancellationType: ActivityCancellationType.TRY_CANCEL,
    });
    let result: SendResult | undefined;
    const scope = new CancellationScope();
    const sent = scope
      .run(() => sendCommand({ command: cmd, msgId }))
      .then(
        (reply) => {
          acceptReply(reply);
          result ??= { kind: 'reply' };
        },
        (err: unknown) =>
          // An open activity left behind times out in the end; nobody waits for that any more.
          (result ??= scope.consideredCancelled ? { kind: 'interrupted' } : sendFailure(err)),
      );
    await condition(() => result !== undefined || interrupted());
    if (!result && !keepsListening) {
      scope.cancel();
      await sent;
    }
    return result ?? { kind: 'interrupted' };
  }

  function issue<T extends CommandType>(type: T, payload: CommandPayloads[T]): CommandEnvelope {
    seq += 1;
    const commandId = `${workflowId}:${type}:${seq}`;
    issued.add(commandId);
    return { commandId, type, orderId: order.orderId, workflowId, seq, payload };
  }

  /**
   * Sends a command and waits for its answer, re-sending on timeout up to stepMaxSends times.
   * `round` > 1 marks a later round (after a dead letter or an operator's retry): it needs a fresh
   * Nats-Msg-Id, because the earlier message is still inside the duplicate window.
   */
  async function deliver(
    cmd: CommandEnvelope,
    opts: { interruptible: boolean; round?: string; step?: StepName },
  ): Promise<Outcome> {
    if (answers.get(cmd.commandId)?.kind !== 'succeeded') answers.delete(cmd.commandId);
    const base = opts.round ? `${cmd.commandId}#${opts.round}` : cmd.commandId;
    let msgId = base;
    let storedAt = Date.now();
    let fresh = 0;
    let reconciled = false;
    for (let attempt = 1; attempt <= settings.stepMaxSends; attempt++) {
      // The same id inside the duplicate window, where JetStream still holds the first copy; a fresh one
      // after it, or after a reconcile, so that the re-send is stored and delivered at all.
      if (reconciled || Date.now() - storedAt >= settings.duplicateWindowMs) {
        fresh += 1;
        msgId = `${base}#n${fresh}`;
        storedAt = Date.now();
      }
      reconciled = false;
      const reconcilesBefore = reconciles;
      const interrupted = () =>
        answers.has(cmd.commandId) ||
        (opts.interruptible && cancelRequested !== undefined) ||
        reconciles > reconcilesBefore;
      const countSend = () => {
        progressed(attempt > 1 || fresh > 0 || opts.round !== undefined);
        if (opts.step)
          setStep(opts.step, view.steps[opts.step].state, {
            sends: (view.steps[opts.step].sends ?? 0) + 1,
          });
      };
      const publishFailed = (message: string): Outcome => {
        // Out of time to publish, or refused for good (see activities/): the step cannot go on.
        log.error('command could not be published', { commandId: cmd.commandId, err: message });
        return { kind: 'rejected', code: 'publish_failed', message };
      };
      if (revision >= 2) {
        countSend();
        const sent = await sendAwaitingReply(cmd, msgId, interrupted);
        if (sent.kind === 'failed') return publishFailed(sent.message);
      } else {
        // Histories from before: publish, then wait for the reply signal on a timer.
        try {
          await (patched('publish-as-activity') ? publishCommand : publishCommandLocally)({
            command: cmd,
            msgId,
          });
        } catch (err) {
          return publishFailed(err instanceof Error ? err.message : String(err));
        }
        countSend();
        await condition(interrupted, settings.stepTimeoutMs);
      }
      const answer = answers.get(cmd.commandId);
      if (answer) return answer;
      if (opts.interruptible && cancelRequested !== undefined) return { kind: 'cancelled' };
      if (reconciles > reconcilesBefore) {
        // Reconcile: ask the owning service's record first; move on if the effect is there, otherwise
        // re-send at once (a fresh Nats-Msg-Id) without using up an attempt.
        const found = await lookupReply({ commandId: cmd.commandId, type: cmd.type }).catch(
          () => null,
        );
        if (found) {
          log.info('reconcile: the service has done the command; using its stored reply', {
            commandId: cmd.commandId,
          });
          seenReplies.add(found.replyId);
          reconcileLog.push(`${cmd.commandId}: found done by the service`);
          return toOutcome(found);
        }
        reconcileLog.push(`${cmd.commandId}: not done by the service; sent again`);
        reconciled = true;
        attempt -= 1;
        log.info('reconcile: sending the command again', { commandId: cmd.commandId });
      } else {
        log.warn('no reply in time; sending the command again', {
          commandId: cmd.commandId,
          attempt,
        });
      }
    }
    return { kind: 'no_reply' };
  }

  /** Sends a command until the service confirms it; after each batch of rounds, waits for an operator. */
  async function confirm(step: StepName, cmd: CommandEnvelope): Promise<boolean> {
    for (let round = 1; ; round++) {
      const out = await deliver(cmd, {
        interruptible: false,
        ...(round > 1 ? { round: `c${round}-` } : {}),
      });
      if (out.kind === 'succeeded') return true;
      log.error('not confirmed', { commandId: cmd.commandId, round, outcome: describe(out) });
      if (round % settings.compensationRounds !== 0) continue;
      const previous = view.status;
      view.attention = `${cmd.type} (${cmd.commandId}) not confirmed after ${round} rounds: ${describe(out)}`;
      setStatus('NEEDS_ATTENTION');
      await recordOrderOutcome(view);
      resolution = undefined;
      // A confirmation that turns up late (the service came back) resolves it without an operator.
      await condition(
        () => resolution !== undefined || answers.get(cmd.commandId)?.kind === 'succeeded',
      );
      if (answers.get(cmd.commandId)?.kind === 'succeeded') {
        delete view.attention;
        setStatus(previous);
        return true;
      }
      const action = resolution;
      resolution = undefined;
      delete view.attention;
      setStatus(previous);
      if (action === 'give-up') {
        setStep(step, 'COMPENSATION_ABANDONED', {
          detail: `given up by an operator: ${describe(out)}`,
        });
        return false;
      }
    }
  }

  async function compensate(): Promise<void> {
    setStatus('COMPENSATING');
    for (let c = compensations.pop(); c; c = compensations.pop()) {
      const cmd = issue(c.type, c.payload);
      setStep(c.step, 'COMPENSATING', { commandId: cmd.commandId, sends: 0 });
      if (await confirm(c.step, cmd)) setStep(c.step, 'COMPENSATED');
    }
  }

  async function finish(status: OrderStatus): Promise<OrderView> {
    for (const s of ['inventory', 'payment', 'loyalty', 'shipping'] as const) {
      if (view.steps[s].state === 'PENDING') setStep(s, 'SKIPPED');
    }
    setStatus(status);
    await recordOrderOutcome(view);
    return view;
  }

  async function abort(): Promise<OrderView> {
    if (cancelRequested !== undefined) view.failureReason = cancelRequested;
    await compensate();
    return finish(cancelRequested !== undefined ? 'CANCELLED' : 'FAILED');
  }

  /** A forward step. Undefined when it did not succeed; its compensation is queued whenever its effect may exist. */
  async function forward<T extends CommandType>(
    step: StepName,
    status: OrderStatus,
    type: T,
    payload: CommandPayloads[T],
    undo: (commandId: string) => Compensation,
  ): Promise<ReplyEnvelope | undefined> {
    if (cancelRequested !== undefined) return undefined;
    setStatus(status);
    const cmd = issue(type, payload);
    setStep(step, 'IN_PROGRESS', { commandId: cmd.commandId, sends: 0 });
    const out = await deliver(cmd, { interruptible: true, step });
    // Only a service's own "no" proves nothing happened; a timeout, a dead letter or a cancel leaves it open.
    if (out.kind !== 'rejected') compensations.push(undo(cmd.commandId));
    if (out.kind === 'succeeded') {
      setStep(step, 'SUCCEEDED', out.reply.result ? { result: out.reply.result } : {});
      return cancelRequested === undefined ? out.reply : undefined;
    }
    setStep(step, 'FAILED', { detail: describe(out) });
    if (out.kind !== 'cancelled') view.failureReason ??= `${step}: ${describe(out)}`;
    return undefined;
  }

  if (!input.recorded) await recordOrderAccepted(order, workflowId);

  // 1. Stock, all items or none.
  const reserved = await forward(
    'inventory',
    'RESERVING_INVENTORY',
    'inventory.reserve',
    { items },
    (id) => ({
      step: 'inventory',
      type: 'inventory.release',
      payload: { reserveCommandId: id },
    }),
  );
  if (!reserved) return abort();

  // 2. Payment.
  const charged = await forward(
    'payment',
    'CHARGING_PAYMENT',
    'payment.charge',
    { customerId: order.customerId, amountCents: totalCents, currency: order.currency },
    (id) => ({
      step: 'payment',
      type: 'payment.refund',
      payload: { chargeCommandId: id, amountCents: totalCents },
    }),
  );
  if (!charged) return abort();

  // 3. Loyalty points never fail an order: a failed award is retried in the background once it completes.
  if (cancelRequested !== undefined) return abort();
  setStatus('AWARDING_POINTS');
  const award = issue('loyalty.award', {
    customerId: order.customerId,
    orderTotalCents: totalCents,
  });
  setStep('loyalty', 'IN_PROGRESS', { commandId: award.commandId, sends: 0 });
  compensations.push({
    step: 'loyalty',
    type: 'loyalty.reverse',
    payload: { awardCommandId: award.commandId, customerId: order.customerId },
  });
  const awarded = await deliver(award, { interruptible: true, step: 'loyalty' });
  if (awarded.kind === 'cancelled') return abort();
  if (awarded.kind === 'succeeded') {
    setStep('loyalty', 'SUCCEEDED', awarded.reply.result ? { result: awarded.reply.result } : {});
  } else {
    setStep('loyalty', 'RETRYING', { detail: describe(awarded) });
  }

  // 4. The shipment: once the carrier has it, the order can no longer be cancelled.
  const shipped = await forward(
    'shipping',
    'CREATING_SHIPMENT',
    'shipping.create',
    { address: order.shippingAddress, items },
    (id) => ({ step: 'shipping', type: 'shipping.cancel', payload: { createCommandId: id } }),
  );
  if (!shipped) return abort();

  // 5. The reserved stock leaves the warehouse for good.
  setStatus('FINALIZING');
  await confirm('inventory', issue('inventory.commit', { reserveCommandId: reserved.commandId }));
  const done = await finish('COMPLETED');

  // Background: credit the points of a completed order until the loyalty service confirms.
  for (let round = 1; view.steps.loyalty.state === 'RETRYING'; round++) {
    await sleep(settings.loyaltyRetryMs);
    const out = await deliver(award, { interruptible: false, round: `l${round}-` });
    if (out.kind === 'succeeded') {
      setStep('loyalty', 'SUCCEEDED', {
        ...(out.reply.result ? { result: out.reply.result } : {}),
        detail: `after ${round} background retries`,
      });
      await recordOrderOutcome(view);
    }
  }
  return done;
}
