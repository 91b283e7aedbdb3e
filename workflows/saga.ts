import { condition, log, sleep } from '@temporalio/workflow';
import type { ForwardCommandType, UNDO_OF } from '../src/domain/compensations';
import type {
  CommandEnvelope,
  CommandType,
  OrderStatus,
  OrderView,
  ReplyEnvelope,
  StepName,
  StepView,
} from '../src/domain/types';
import { recordOrderOutcome } from './activity-stubs';
import type { CommandDelivery, CommandSpec, Outcome } from './command-delivery';
import { describe, wasUndone } from './command-delivery';
import type { OrderWorkflowSettings } from './order-input';
import { reconcileReason, resolveAction } from './order-input';
import type { ProgressReport } from './order-progress';

/**
 * One step of the order: which it is, the status the order shows while it runs, its command, and the
 * compensation that undoes it, given the command's id — of the type UNDO_OF names for the command, so
 * a step cannot be given another step's undo.
 */
export interface Step<T extends ForwardCommandType> {
  name: StepName;
  shows: OrderStatus;
  command: CommandSpec<T>;
  undo: (commandId: string) => CommandSpec<(typeof UNDO_OF)[T]>;
}

/** Thrown by a step that did not succeed, or when the order is cancelled: the saga then compensates. */
export class OrderStopped extends Error {
  override name = 'OrderStopped';
}

/**
 * The saga's mechanism: steps that queue their compensation whenever their effect may exist, the
 * compensations run newest first, commands that must be confirmed whatever it takes, and the operator
 * who is asked when one keeps failing (NEEDS_ATTENTION, answered by `resolve` or `reconcile`).
 */
export class OrderSaga {
  private readonly compensations: { step: StepName; undo: CommandSpec }[] = [];
  private cancelReason: string | undefined;
  private operatorAnswer: 'retry' | 'give-up' | undefined;

  constructor(
    private readonly progress: ProgressReport,
    private readonly commands: CommandDelivery,
    private readonly settings: OrderWorkflowSettings,
  ) {}

  /** The `reconcile` signal: the order looks again at what it waits on; "retry" if an operator is asked. */
  reconcile(input: unknown): void {
    // A reconcile only makes the order look again: taken whatever it carries.
    log.info('reconcile requested', { reason: reconcileReason(input) });
    this.commands.reconcile();
    if (this.progress.status === 'NEEDS_ATTENTION') this.operatorAnswer ??= 'retry';
  }

  /** The `resolve` signal: an operator's answer to NEEDS_ATTENTION, taken only as the API signs it. */
  resolve(input: unknown): void {
    const resolve = resolveAction(input, this.commands.trust, this.progress.view.workflowId);
    if ('refused' in resolve) return this.progress.noteRejectedInput('a resolve', resolve.refused);
    if (this.progress.status === 'NEEDS_ATTENTION') this.operatorAnswer = resolve.action;
  }

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  /** Stops the order at its next chance; what it did is compensated. The first reason given counts. */
  cancel(reason: string): void {
    this.cancelReason ??= reason;
  }

  /**
   * A step of the order. Resolves with the service's reply; throws OrderStopped when it did not
   * succeed or the order was cancelled meanwhile. Its compensation is queued unless the service
   * refused: only a service's own "no" proves nothing happened; a timeout, a dead letter or a cancel
   * leave the effect possible.
   */
  async step<T extends ForwardCommandType>({
    name: step,
    shows,
    command,
    undo,
  }: Step<T>): Promise<ReplyEnvelope> {
    const cmd = this.begin(step, shows, command);
    const out = await this.commands.deliver(cmd, { stopWhen: () => this.cancelled, step });
    if (out.kind !== 'rejected') this.compensations.push({ step, undo: undo(cmd.commandId) });
    if (out.kind === 'succeeded') {
      this.succeeded(step, out.reply);
      if (this.cancelled) throw new OrderStopped();
      return out.reply;
    }
    this.progress.setStep(step, 'FAILED', { detail: describe(out) });
    if (out.kind !== 'cancelled') this.progress.failedBecause(`${step}: ${describe(out)}`);
    throw new OrderStopped();
  }

  /**
   * A step that never fails the order; only a cancel stops it. Resolves with the command when it did
   * not succeed, for `retryInBackground`, and with undefined when it did.
   */
  async bestEffortStep<T extends ForwardCommandType>({
    name: step,
    shows,
    command,
    undo,
  }: Step<T>): Promise<CommandEnvelope<T> | undefined> {
    const cmd = this.begin(step, shows, command);
    this.compensations.push({ step, undo: undo(cmd.commandId) });
    const out = await this.commands.deliver(cmd, { stopWhen: () => this.cancelled, step });
    if (out.kind === 'cancelled') throw new OrderStopped();
    if (wasUndone(out)) this.stopUndone(step, out);
    if (out.kind === 'succeeded') {
      this.succeeded(step, out.reply);
      return undefined;
    }
    this.progress.setStep(step, 'RETRYING', { detail: describe(out) });
    return cmd;
  }

  /** Sends a best-effort step's command again, a pause apart, until its service confirms it. */
  async retryInBackground(step: StepName, cmd: CommandEnvelope): Promise<void> {
    for (let round = 1; ; round++) {
      await sleep(this.settings.loyaltyRetryMs);
      const out = await this.commands.deliver(cmd, { round: `l${round}-` });
      if (out.kind !== 'succeeded') continue;
      this.succeeded(step, out.reply, { detail: `after ${round} background retries` });
      await recordOrderOutcome(this.progress.view);
      return;
    }
  }

  /**
   * Sends a command until its service confirms it. After every `compensationRounds` rounds without a
   * confirmation the order waits for an operator (NEEDS_ATTENTION): `retry` (or a reconcile) starts
   * more rounds, `give-up` leaves the effect to be handled outside Shipshape, and a confirmation that
   * arrives late (the service came back) ends the wait by itself. False when given up.
   */
  async confirm<T extends CommandType>(step: StepName, action: CommandSpec<T>): Promise<boolean> {
    return this.confirmIssued(step, this.commands.issue(action));
  }

  private async confirmIssued(step: StepName, cmd: CommandEnvelope): Promise<boolean> {
    for (let round = 1; ; round++) {
      const out = await this.commands.deliver(cmd, round > 1 ? { round: `c${round}-` } : {});
      if (out.kind === 'succeeded') return true;
      if (wasUndone(out)) this.stopUndone(step, out);
      log.error('not confirmed', { commandId: cmd.commandId, round, outcome: describe(out) });
      if (round % this.settings.compensationRounds !== 0) continue;
      const answer = await this.askOperator(
        `${cmd.type} (${cmd.commandId}) not confirmed after ${round} rounds: ${describe(out)}`,
        () => this.commands.confirmed(cmd.commandId),
      );
      if (answer === 'confirmed') return true;
      if (answer === 'give-up') {
        this.progress.setStep(step, 'COMPENSATION_ABANDONED', {
          detail: `given up by an operator: ${describe(out)}`,
        });
        return false;
      }
    }
  }

  /**
   * The order stopped: undo what may have happened, newest first, and end CANCELLED or FAILED (or as
   * `endAs` says). Each step keeps what its undo's service answered.
   */
  async stop(endAs?: OrderStatus): Promise<OrderView> {
    if (this.cancelReason !== undefined) this.progress.stoppedBecause(this.cancelReason);
    this.progress.setStatus('COMPENSATING');
    for (let c = this.compensations.pop(); c; c = this.compensations.pop())
      await this.undo(c.step, c.undo);
    return this.finish(endAs ?? (this.cancelled ? 'CANCELLED' : 'FAILED'));
  }

  /**
   * Undoes one step: its command is sent until its service confirms it (or an operator gives it up),
   * and the step shows what the service answered it undid. Resolves with that answer.
   */
  async undo(step: StepName, action: CommandSpec): Promise<StepView['undone']> {
    const cmd = this.commands.issue(action);
    this.progress.setStep(step, 'COMPENSATING', { commandId: cmd.commandId, sends: 0 });
    if (!(await this.confirmIssued(step, cmd))) return undefined;
    const undone = this.commands.answerTo(cmd.commandId)?.result;
    this.progress.setStep(step, 'COMPENSATED', undone ? { undone } : {});
    return undone;
  }

  /**
   * A service answered that this order's effect there was undone in an earlier run of it (a reset of
   * an order that had been compensated): nothing is built on it, the order stops.
   */
  private stopUndone(step: StepName, out: Outcome): never {
    this.progress.setStep(step, 'FAILED', { detail: describe(out) });
    this.progress.failedBecause(`${step}: ${describe(out)}`);
    throw new OrderStopped();
  }

  /** The order ends: its final view goes to the orders table. */
  async finish(status: OrderStatus): Promise<OrderView> {
    this.progress.skipUnreachedSteps();
    this.progress.setStatus(status);
    await recordOrderOutcome(this.progress.view);
    return this.progress.view;
  }

  private begin<T extends CommandType>(
    step: StepName,
    status: OrderStatus,
    action: CommandSpec<T>,
  ): CommandEnvelope<T> {
    if (this.cancelled) throw new OrderStopped();
    this.progress.setStatus(status);
    const cmd = this.commands.issue(action);
    this.progress.setStep(step, 'IN_PROGRESS', { commandId: cmd.commandId, sends: 0 });
    return cmd;
  }

  private succeeded(step: StepName, reply: ReplyEnvelope, extra: { detail?: string } = {}): void {
    this.progress.setStep(step, 'SUCCEEDED', {
      ...(reply.result ? { result: reply.result } : {}),
      ...extra,
    });
    return undefined;
  }

  /** NEEDS_ATTENTION until an operator answers or `settled` turns true; the status is restored after. */
  private async askOperator(
    why: string,
    settled: () => boolean,
  ): Promise<'confirmed' | 'retry' | 'give-up'> {
    const previous = this.progress.status;
    this.progress.needsAttention(why);
    await recordOrderOutcome(this.progress.view);
    this.operatorAnswer = undefined;
    await condition(() => this.operatorAnswer !== undefined || settled());
    const answer = settled() ? 'confirmed' : this.operatorAnswer!;
    this.operatorAnswer = undefined;
    this.progress.attended(previous);
    return answer;
  }
}
