import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { HDR_COMMAND_ID, HDR_ORDER_ID } from './subjects';
import { injectTraceContext } from '../telemetry/tracing';
import { isRefusedForGood, PublishRefusedError } from './errors';

export interface PublishResult {
  stream: string;
  seq: number;
  /** True when JetStream dropped the publish because the same Nats-Msg-Id was seen within its duplicate window. */
  duplicate: boolean;
}

/**
 * Publishes a JSON body with `msgID` as Nats-Msg-Id, so a retried publish is stored once.
 * Resolves only once JetStream has stored (or de-duplicated) the message.
 */
export async function publishJson(
  js: JetStreamClient,
  subject: string,
  body: unknown,
  msgID: string,
  ids: { commandId: string; orderId: string },
  timeoutMs = 5000,
): Promise<PublishResult> {
  const h = headers();
  h.set(HDR_COMMAND_ID, ids.commandId);
  h.set(HDR_ORDER_ID, ids.orderId);
  injectTraceContext(h);
  const data = JSON.stringify(body);
  let ack: PubAck;
  try {
    ack = await js.publish(subject, data, { msgID, headers: h, timeout: timeoutMs });
  } catch (err) {
    if (isRefusedForGood(err)) throw new PublishRefusedError(subject, Buffer.byteLength(data), err);
    throw err;
  }
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
}
