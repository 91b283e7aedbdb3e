import { jetstream } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { parseReply } from '../domain/schemas';
import type { ReplyEnvelope } from '../domain/types';
import type { Logger } from '../logger';
import { KeyedLanes } from '../messaging/lanes';
import { REPLY_BRIDGE_CONSUMER, REPLY_STREAM } from '../messaging/subjects';
import { redeliveryDelayMs } from '../services/command-consumer';
import { replySignal } from '../../workflows/definitions';
import { extractTraceContext, inSpan } from '../telemetry/tracing';

export interface ReplyBridgeOptions {
  nc: NatsConnection;
  temporal: Client;
  log: Logger;
  lanes?: number;
}

/**
 * Consumes service replies and signals the owning workflow. Acks only once Temporal has the signal;
 * a repeated reply is harmless because the workflow ignores a reply id it has seen.
 */
export async function startReplyBridge(opts: ReplyBridgeOptions) {
  const { nc, temporal, log } = opts;
  const js = jetstream(nc);
  const lanes = new KeyedLanes(opts.lanes ?? 8, 16, (err) =>
    log.error({ err }, 'bridge task failed'),
  );
  const consumer = await js.consumers.get(REPLY_STREAM, REPLY_BRIDGE_CONSUMER);
  const messages = await consumer.consume({ max_messages: lanes.laneCount * 16 });

  const deliver = (m: JsMsg, reply: ReplyEnvelope) =>
    inSpan(
      `deliver ${m.subject}`,
      extractTraceContext(m.headers),
      { 'shipshape.order_id': reply.orderId, 'shipshape.command_id': reply.commandId },
      () => deliverTraced(m, reply),
    );

  const deliverTraced = async (m: JsMsg, reply: ReplyEnvelope) => {
    const rlog = log.child({
      orderId: reply.orderId,
      workflowId: reply.workflowId,
      commandId: reply.commandId,
    });
    try {
      await temporal.workflow.getHandle(reply.workflowId).signal(replySignal, reply);
      rlog.debug({ outcome: reply.outcome }, 'reply delivered');
      await m.ackAck();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // The run has ended: nobody waits for this reply any more.
        rlog.warn('reply for a workflow that no longer runs; dropped');
        await m.ackAck().catch(() => undefined);
        return;
      }
      rlog.warn({ err, delivery: m.info.deliveryCount }, 'signal failed; will retry');
      m.nak(redeliveryDelayMs(m.info.deliveryCount));
    }
  };

  const done = (async () => {
    for await (const m of messages) {
      let reply: ReplyEnvelope;
      try {
        reply = parseReply(m.json());
      } catch (err) {
        log.error({ err, subject: m.subject, seq: m.seq }, 'unparseable reply terminated');
        m.term('unparseable reply');
        continue;
      }
      await lanes.submit(reply.orderId, () => deliver(m, reply));
    }
    await lanes.idle();
  })();

  return {
    lanes,
    async stop() {
      await messages.close();
      await done;
    },
  };
}
