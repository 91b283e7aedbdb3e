import type { JetStreamClient } from '@nats-io/jetstream';
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
import { publishJson } from '../src/messaging/publish';
import type { PublishResult } from '../src/messaging/publish';
import { commandSubject } from '../src/messaging/subjects';
import { insertAcceptedOrder, recordOrderOutcome } from '../src/orders/order-store';
import { totalCentsOf } from '../src/orders/start-workflow';
import { crashPoint } from '../src/chaos/crash-points';

export interface ActivityDeps {
  js: JetStreamClient;
  pool: Pool;
}

/** The order workflow's activities; the worker wires in the clients they use. */
export function createActivities({ js, pool }: ActivityDeps) {
  return {
    /**
     * Publishes a command with `msgId` as Nats-Msg-Id: a retried publish is stored once by JetStream.
     * The workflow passes the command id itself, or a fresh variant where a re-send must get through.
     */
    async publishCommand({
      command,
      msgId,
    }: {
      command: CommandEnvelope;
      msgId: string;
    }): Promise<PublishResult> {
      crashPoint('worker.before-publish', command.type.split('.')[0]);
      try {
        const published = await publishJson(js, commandSubject(command.type), command, msgId, {
          commandId: command.commandId,
          orderId: command.orderId,
        });
        crashPoint('worker.after-publish', command.type.split('.')[0]);
        return published;
      } catch (err) {
        // A message the broker will never take is a business failure: retrying cannot help.
        if (/max.?payload|invalid subject|no stream matches/i.test((err as Error).message)) {
          throw ApplicationFailure.create({
            type: 'CommandRejectedByBroker',
            message: (err as Error).message,
            nonRetryable: true,
          });
        }
        throw err; // transient: the activity's retry policy backs off and tries again
      }
    },
    /**
     * Reconcile: reads the owning service's record of a command. The reply it stored in its outbox, if
     * the effect was made; null if the service has not handled the command. Works without the broker
     * and the reply bridge, so a lost or stuck reply cannot hold an order.
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
      const { rows } = await pool.query<{ payload: ReplyEnvelope }>(
        `SELECT payload FROM ${service}.outbox WHERE command_id = $1`,
        [commandId],
      );
      return rows[0]?.payload ?? null;
    },
    /**
     * Records the order in the orders table if nobody did yet: orders placed straight through Temporal
     * (the client library) get their row here; for API orders the row exists and this does nothing.
     */
    async recordOrderAccepted(order: OrderRequest, workflowId: string): Promise<void> {
      await insertAcceptedOrder(pool, order, workflowId, totalCentsOf(order), undefined);
    },
    /** Writes the final state to the orders table, so it can be read after the workflow is gone. */
    async recordOrderOutcome(view: OrderView): Promise<void> {
      await recordOrderOutcome(pool, view);
    },
  };
}
