import {
  ActivityFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  log,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type {
  CommandEnvelope,
  CommandPayloads,
  CommandType,
  OrderRequest,
  ReplyEnvelope,
  StepName,
} from '../src/domain/types';
import { lookupReply, sendCommandActivity } from './activity-stubs';
import type { OrderWorkflowSettings } from './order-input';
import { asDeadLetter, asReply } from './order-input';
import type { Trust } from './order-input';
import type { ProgressReport } from './order-progress';

/**
 * How one command of an order travels, and how the workflow stands in for the message-send table of
 * the classic outbox: each command gets a deterministic id, `<workflowId>:<type>:<seq>`, which the
 * service records exactly once; each send is one `sendCommand` activity that the service's reply
 * completes; no reply within the step timeout and the same command goes out again — under the same
 * Nats-Msg-Id while JetStream's duplicate window still holds the first copy, under a fresh one after,
 * so that the re-send is stored at all. A reconcile asks the service's own record first, and re-sends
 * at once if the effect is not there. A dead letter ends the wait: that command will never be answered.
 */

/** A command to issue: its type and payload. The id is given when it is issued. */
export interface CommandSpec<T extends CommandType = CommandType> {
  type: T;
  payload: CommandPayloads[T];
}
export const command = <T extends CommandType>(
  type: T,
  payload: CommandPayloads[T],
): CommandSpec<T> => ({ type, payload });

/** How waiting for a command's answer ended. */
export type Outcome =
  | { kind: 'succeeded'; reply: ReplyEnvelope }
  | { kind: 'rejected'; code: string; message: string }
  | { kind: 'dead_lettered'; reason: string }
  | { kind: 'no_reply' }
  | { kind: 'cancelled' };

/** An outcome in a person's words: the text of a step's detail and of a failure reason. */
export function describe(o: Outcome): string {
  switch (o.kind) {
    case 'succeeded':
      return 'succeeded';
    case 'rejected':
      return o.code === 'undone' ? 'undone in an earlier run of this order' : o.code;
    case 'dead_lettered':
      return `dead-lettered: ${o.reason}`;
    case 'no_reply':
      return 'no reply from the service';
    case 'cancelled':
      return 'cancelled while waiting';
  }
}

/** The service refused because this order's effect there was undone before (see command-processor.ts). */
export const wasUndone = (o: Outcome): boolean => o.kind === 'rejected' && o.code === 'undone';

const outcomeOf = (reply: ReplyEnvelope): Outcome =>
  reply.outcome === 'succeeded'
    ? { kind: 'succeeded', reply }
    : {
        kind: 'rejected',
        code: reply.error?.code ?? 'rejected',
        message: reply.error?.message ?? '',
      };

/** How one send (one `sendCommand` activity) ended. */
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

export interface DeliveryOptions {
  /** Stop waiting once this turns true (a cancel): the outcome is then `cancelled`. */
  stopWhen?: () => boolean;
  /**
   * A later round of a command already delivered once (after a dead letter, an operator's retry, a
   * background retry): its messages need ids of their own, the earlier ones may still be in the
   * duplicate window.
   */
  round?: string;
  /** The step whose view counts the sends. */
  step?: StepName;
}

export class CommandDelivery {
  private seq = 0;
  /** Each command this run sent, by id, and its type: a reply counts only from the type's service. */
  private readonly issued = new Map<string, CommandType>();
  private readonly answers = new Map<string, Outcome>();
  private readonly seenReplies = new Set<string>();
  /** Sends so far: each send's activity id is unique, also when a command is sent again. */
  private sends = 0;
  private reconciles = 0;

  constructor(
    private readonly order: Pick<OrderRequest, 'orderId'>,
    private readonly progress: ProgressReport,
    private readonly settings: OrderWorkflowSettings,
    /** Whether replies and dead-letter notices count only when the reply bridge signed them. */
    readonly trust: Trust,
  ) {}

  /**
   * A reply, however it came (the `reply` signal, for one no send waits for any more, or the result
   * the bridge completed a send with): taken when it is one and came from the service the command went
   * to; otherwise refused, and shown on the order.
   */
  takeReply(what: string, input: unknown): void {
    const r = asReply(input, this.trust);
    if ('refused' in r) return this.progress.noteRejectedInput(what, r.refused);
    const sentTo = this.issued.get(r.reply.commandId)?.split('.')[0];
    if (this.trust.signed && sentTo && r.from !== sentTo)
      return this.progress.noteRejectedInput(
        what,
        `${r.reply.commandId} went to ${sentTo}, the reply came from ${r.from ?? 'nowhere'}`,
      );
    this.accept(r.reply);
  }

  /** The `deadLetter` signal: that command will get no answer, and the wait for it ends. */
  takeDeadLetter(input: unknown): void {
    const dead = asDeadLetter(input, this.trust);
    if ('refused' in dead)
      return this.progress.noteRejectedInput('a dead-letter signal', dead.refused);
    if (this.issued.has(dead.commandId) && this.answers.get(dead.commandId)?.kind !== 'succeeded')
      this.answers.set(dead.commandId, { kind: 'dead_lettered', reason: dead.reason });
  }

  /** Gives a command its id: `<workflowId>:<type>:<seq>`, the same in every replay of this run. */
  issue<T extends CommandType>({ type, payload }: CommandSpec<T>): CommandEnvelope<T> {
    this.seq += 1;
    const { workflowId } = this.progress.view;
    const commandId = `${workflowId}:${type}:${this.seq}`;
    this.issued.set(commandId, type);
    return { commandId, type, orderId: this.order.orderId, workflowId, seq: this.seq, payload };
  }

  /** Reconcile: whatever the order waits on is checked with its service at once. */
  reconcile(): void {
    this.reconciles += 1;
  }

  /** The service's reply to a command, once it has confirmed it. */
  answerTo(commandId: string): ReplyEnvelope | undefined {
    const a = this.answers.get(commandId);
    return a?.kind === 'succeeded' ? a.reply : undefined;
  }

  /** True once the service has confirmed the command (however the confirmation came). */
  confirmed(commandId: string): boolean {
    return this.answers.get(commandId)?.kind === 'succeeded';
  }

  /**
   * Sends a command and waits for its answer, sending it again on each step timeout, up to
   * `stepMaxSends` sends (a reconcile's re-send does not count). An earlier answer that was not a
   * success is forgotten first: this is a new attempt.
   */
  async deliver(cmd: CommandEnvelope, opts: DeliveryOptions = {}): Promise<Outcome> {
    if (!this.confirmed(cmd.commandId)) this.answers.delete(cmd.commandId);
    const stopped = opts.stopWhen ?? (() => false);
    const base = opts.round ? `${cmd.commandId}#${opts.round}` : cmd.commandId;
    let msgId = base;
    let storedAt = Date.now();
    let fresh = 0;
    let reconciled = false;
    // Sends that went unanswered for a whole step timeout; a reconcile's re-send is not one of them.
    let timedOut = 0;
    while (timedOut < this.settings.stepMaxSends) {
      if (reconciled || Date.now() - storedAt >= this.settings.duplicateWindowMs) {
        fresh += 1;
        msgId = `${base}#n${fresh}`;
        storedAt = Date.now();
      }
      reconciled = false;
      const reconcilesBefore = this.reconciles;
      this.progress.commandSent(timedOut > 0 || fresh > 0 || opts.round !== undefined, opts.step);
      const sent = await this.sendOnce(
        cmd,
        msgId,
        () => this.answers.has(cmd.commandId) || stopped() || this.reconciles > reconcilesBefore,
      );
      if (sent.kind === 'failed') {
        // Out of time to publish, or refused for good by the broker: the step cannot go on.
        log.error('command could not be published', {
          commandId: cmd.commandId,
          err: sent.message,
        });
        return { kind: 'rejected', code: 'publish_failed', message: sent.message };
      }
      const answer = this.answers.get(cmd.commandId);
      if (answer) return answer;
      if (stopped()) return { kind: 'cancelled' };
      if (this.reconciles > reconcilesBefore) {
        const found = await this.serviceRecordOf(cmd);
        if (found) return found;
        reconciled = true; // sent again at once, under a fresh id
        continue;
      }
      timedOut += 1;
      log.warn('no reply in time; sending the command again', {
        commandId: cmd.commandId,
        attempt: timedOut,
      });
    }
    return { kind: 'no_reply' };
  }

  /** A reply, however it came. One to a command this run never sent, or one already seen, changes nothing. */
  private accept(reply: ReplyEnvelope): void {
    if (!this.issued.has(reply.commandId) || this.seenReplies.has(reply.replyId)) return;
    this.seenReplies.add(reply.replyId);
    this.answers.set(reply.commandId, outcomeOf(reply));
  }

  /**
   * One send, as one activity that the answer itself completes (through the reply bridge). Stops
   * waiting when `interrupted` turns true — a cancel, a reconcile, or an answer that came another way —
   * but leaves the activity open: the service answers the first copy of a command it gets, and that
   * answer may be on its way to this very activity when a reconcile sends the command again (a
   * cancelled activity's answer would be dropped, and the service's repeat of it is the same message,
   * which JetStream discards as a duplicate).
   */
  private async sendOnce(
    cmd: CommandEnvelope,
    msgId: string,
    interrupted: () => boolean,
  ): Promise<SendResult> {
    this.sends += 1;
    const sendCommand = sendCommandActivity(
      `${cmd.commandId}~${this.sends}`,
      this.settings.stepTimeoutMs,
    );
    let result: SendResult | undefined;
    const scope = new CancellationScope();
    void scope
      .run(() => sendCommand({ command: cmd, msgId }))
      .then(
        (reply) => {
          // Completed by the reply bridge; one completed by hand counts as no answer.
          this.takeReply(`the result of ${cmd.commandId}`, reply);
          result ??= { kind: 'reply' };
        },
        // An open activity left behind times out in the end; nobody waits for that any more.
        (err: unknown) => (result ??= sendFailure(err)),
      );
    await condition(() => result !== undefined || interrupted());
    return result ?? { kind: 'interrupted' };
  }

  /**
   * Reconcile: the owning service's record of the command. Its stored reply if the effect was made
   * (the step moves on), undefined if not (the command goes out again).
   */
  private async serviceRecordOf(cmd: CommandEnvelope): Promise<Outcome | undefined> {
    const found = await lookupReply({ commandId: cmd.commandId, type: cmd.type }).catch(() => null);
    if (found) {
      log.info('reconcile: the service has done the command; using its stored reply', {
        commandId: cmd.commandId,
      });
      this.seenReplies.add(found.replyId);
      this.progress.noteReconcile(`${cmd.commandId}: found done by the service`);
      return outcomeOf(found);
    }
    this.progress.noteReconcile(`${cmd.commandId}: not done by the service; sent again`);
    log.info('reconcile: sending the command again', { commandId: cmd.commandId });
    return undefined;
  }
}
