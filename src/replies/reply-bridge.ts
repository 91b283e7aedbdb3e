import type { JsMsg } from '@nats-io/jetstream';
import { context, SpanKind } from '@opentelemetry/api';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { ActivityNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { parseReply } from '../domain/schemas';
import type { ReplyEnvelope, ServiceName } from '../domain/types';
import type { Logger } from '../platform/logger';
import { consumeByOrder, redeliveryDelayMs } from '../platform/messaging/keyed-consumer';
import { REPLY_BRIDGE_CONSUMER, REPLY_STREAM, replySubject } from '../platform/messaging/subjects';
import type { ProvenanceCounter } from '../platform/metrics/registry';
import { replySignal } from '../../workflows/definitions';
import { crashPoint } from '../platform/crash-points';
import { inSpan } from '../platform/telemetry/tracing';

export interface ReplyBridgeOptions {
  nc: NatsConnection;
  temporal: Client;
  log: Logger;
  lanes?: number;
  /** Counts replies refused because they came on another service's subject. */
  refused?: ProvenanceCounter;
}

/**
 * Why a reply cannot be the answer of the service whose subject it arrived on, or undefined. NATS
 * lets each service publish only on its own reply subjects; the subject is the one thing about a
 * reply its sender cannot choose, so the reply's type, and the command it answers, must match it.
 */
export function provenanceProblem(subject: string, reply: ReplyEnvelope): string | undefined {
  if (subject !== replySubject(reply.type))
    return `a ${reply.type} reply arrived on ${subject}: only ${serviceOf(reply.type)} answers ${reply.type}`;
  const commandType = reply.commandId.split(':')[1];
  if (commandType !== reply.type)
    return `a ${reply.type} reply to ${reply.commandId}, which is a ${commandType ?? 'command of no known type'}`;
  return undefined;
}

const serviceOf = (type: string) => type.split('.')[0] as ServiceName;

/** Completes the activity waiting for this reply; false when no such activity waits any more. */
async function completeWaitingActivity(temporal: Client, reply: ReplyEnvelope): Promise<boolean> {
  try {
    // A span of its own, as a signal has through the client's interceptor: the trace shows the hand-over.
    await inSpan(
      'CompleteActivity:sendCommand',
      context.active(),
      { 'shipshape.command_id': reply.commandId },
      () =>
        temporal.activity.complete(
          { workflowId: reply.workflowId, activityId: reply.replyTo! },
          reply,
        ),
      SpanKind.CLIENT,
    );
    return true;
  } catch (err) {
    if (err instanceof ActivityNotFoundError) return false;
    throw err;
  }
}

/**
 * Consumes service replies and hands each to its workflow, saying which service sent it (the service
 * whose subject it came on; the bridge's client signs what it sends): it completes the activity that
 * waits for it (the reply's `replyTo`), or, when that activity no longer waits (a late reply, an
 * earlier send, a command from before replies carried it), signals the workflow. Acks only once
 * Temporal has it; a repeated reply is harmless because an activity completes once and the workflow
 * ignores a reply id it has seen. A reply that did not come from the service it claims is
 * dead-lettered with the reason, counted, and never reaches the workflow.
 */
export async function startReplyBridge(opts: ReplyBridgeOptions) {
  const { nc, temporal, log } = opts;
  const deliver = async (m: JsMsg, wire: ReplyEnvelope) => {
    const rlog = log.child({
      orderId: wire.orderId,
      workflowId: wire.workflowId,
      commandId: wire.commandId,
    });
    const problem = provenanceProblem(m.subject, wire);
    if (problem) {
      rlog.error({ subject: m.subject, type: wire.type }, `reply refused: ${problem}`);
      opts.refused?.inc({ where: 'reply-bridge', service: m.subject.split('.')[1] ?? '?' });
      m.term(`provenance: ${problem}`);
      return;
    }
    const reply: ReplyEnvelope = { ...wire, from: serviceOf(wire.type) };
    try {
      if (reply.replyTo && (await completeWaitingActivity(temporal, reply))) {
        rlog.debug({ outcome: reply.outcome }, 'reply completed its activity');
        crashPoint('bridge.after-signal-before-ack', reply.type.split('.')[0]);
        await m.ackAck();
        return;
      }
      await temporal.workflow.getHandle(reply.workflowId).signal(replySignal, reply);
      rlog.debug({ outcome: reply.outcome }, 'reply delivered');
      crashPoint('bridge.after-signal-before-ack', reply.type.split('.')[0]);
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

  return consumeByOrder({
    nc,
    stream: REPLY_STREAM,
    consumer: REPLY_BRIDGE_CONSUMER,
    log,
    lanes: opts.lanes ?? 8,
    verb: 'deliver',
    parse: parseReply,
    // The subject is checked in `deliver`, with the command, and counted (provenanceProblem).
    typedSubjects: false,
    handle: deliver,
  });
}
