import type { JetStreamClient } from '@nats-io/jetstream';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { SERVICES } from '../src/domain/types';
import type {
  CommandEnvelope,
  CommandType,
  OrderRequest,
  OrderView,
  ReplyEnvelope,
  ServiceName,
} from '../src/domain/types';
import { publishJson } from '../src/platform/messaging/publish';
import { ServiceUnavailableError } from '../src/services/core/queries';
import type { AskService } from '../src/services/core/queries';
import { isRefusedForGood } from '../src/platform/messaging/errors';
import type { PublishResult } from '../src/platform/messaging/publish';
import { commandSubject } from '../src/platform/messaging/subjects';
import { insertAcceptedOrder, recordOrderOutcome } from '../src/orders/order-store';
import { orderTotalCents } from '../src/domain/orders';
import { acceptedOrderSchema, describeIssues } from '../src/domain/schemas';
import { crashPoint } from '../src/platform/crash-points';
import { backoffMs } from '../src/platform/backoff';

export interface ActivityDeps {
  js: JetStreamClient;
  pool: Pool;
  /** Asks a service about its own record (a reconcile): the worker reads no service's tables. */
  ask: AskService;
}

/**
 * Publishes a command with `msgId` as Nats-Msg-Id: a repeated publish is stored once by JetStream. A
 * message the broker will never take is a business failure (non-retryable); anything else is thrown
 * as it is, for the caller to try again.
 */
async function publishCommandOnce(
  js: JetStreamClient,
  command: CommandEnvelope,
  msgId: string,
): Promise<PublishResult> {
  const service = command.type.split('.')[0];
  crashPoint('worker.before-publish', service);
  try {
    const published = await publishJson(js, commandSubject(command.type), command, msgId, {
      commandId: command.commandId,
      orderId: command.orderId,
    });
    crashPoint('worker.after-publish', service);
    return published;
  } catch (err) {
    if (isRefusedForGood(err))
      throw ApplicationFailure.create({
        type: 'CommandRejectedByBroker',
        message: (err as Error).message,
        nonRetryable: true,
      });
    throw err;
  }
}

/** The order workflow's activities; the worker wires in the clients they use. */
export function createActivities({ js, pool, ask }: ActivityDeps) {
  return {
    /**
     * Sends a command and stays open until its answer arrives: the service copies this activity's id
     * into its reply and the reply bridge completes the activity with that reply, so one step costs one
     * activity instead of a publish, a signal and a timer. While the broker refuses the publish, the
     * activity keeps trying and heartbeats; once published it stops heartbeating, so the heartbeat
     * timeout is the step timeout: no answer in time and the workflow sends again.
     */
    async sendCommand({
      command,
      msgId,
    }: {
      command: CommandEnvelope;
      msgId: string;
    }): Promise<ReplyEnvelope> {
      const ctx = Context.current();
      const runId = ctx.info.workflowExecution?.runId ?? 'unknown-run';
      // The run that sends, and when by Temporal's clock: the service lets the run that sent last act
      // on the order (a reset's new run, a cleanup), so a copy an older run left in the stream is refused.
      const addressed: CommandEnvelope = {
        ...command,
        replyTo: ctx.info.activityId,
        sentBy: { runId, at: ctx.info.currentAttemptScheduledTimestampMs },
      };
      // Per run: a reset's new run sends the same command ids as the run it replaced, and must not have
      // its copies dropped as duplicates of the old run's for JetStream's duplicate window.
      const runMsgId = `${msgId}@${runId}`;
      for (let attempt = 1; ; attempt++) {
        try {
          await publishCommandOnce(js, addressed, runMsgId);
          break;
        } catch (err) {
          if (err instanceof ApplicationFailure) throw err; // refused for good
          ctx.log.warn('publish failed; trying again', { attempt, err: String(err) });
          ctx.heartbeat({ publishAttempts: attempt });
          // Cancellable: a timed-out or cancelled attempt stops trying.
          await ctx.sleep(backoffMs(attempt, 200, 10_000));
        }
      }
      throw new CompleteAsyncError(); // the reply bridge completes this activity
    },
    /**
     * Reconcile: asks the owning service for its record of a command. The reply it stored, if the
     * effect was made; null if the service has not handled the command. Needs no reply bridge and no
     * stream, so a lost or stuck reply cannot hold an order. A service that does not answer fails it
     * at once, not retried: the step is sent again, and waits in the stream until the service runs
     * (which handles it once, by its command id).
     */
    async lookupReply({
      commandId,
      type,
    }: {
      commandId: string;
      type: CommandType;
    }): Promise<ReplyEnvelope | null> {
      const service = type.split('.')[0] as ServiceName;
      if (!SERVICES.includes(service)) return null;
      try {
        return await ask(service, 'record', { commandId });
      } catch (err) {
        if (err instanceof ServiceUnavailableError)
          throw ApplicationFailure.nonRetryable(err.message, 'ServiceUnavailable');
        throw err;
      }
    },
    /**
     * Records the order in the orders table if nobody did yet: orders placed straight through Temporal
     * (the client library, or by hand) get their row here; for an order the row holds already this does
     * nothing. An order the API would refuse is refused here too, for good, naming each bad field, and
     * so is one whose personal data is not sealed (the API and the client library seal it).
     */
    async recordOrderAccepted(order: OrderRequest, workflowId: string): Promise<void> {
      const parsed = acceptedOrderSchema.safeParse(order);
      if (!parsed.success)
        throw ApplicationFailure.create({
          type: 'InvalidOrder',
          message: `the order is not valid: ${describeIssues(parsed.error)
            .map((i) => `${i.field}: ${i.message}`)
            .join(
              '; ',
            )} (personal data must arrive sealed: place orders through the API or the client library)`,
          nonRetryable: true,
        });
      await insertAcceptedOrder(pool, order, workflowId, orderTotalCents(order), undefined);
    },
    /** Writes the final state to the orders table, so it can be read after the workflow is gone. */
    async recordOrderOutcome(view: OrderView): Promise<void> {
      await recordOrderOutcome(pool, view);
    },
  };
}
