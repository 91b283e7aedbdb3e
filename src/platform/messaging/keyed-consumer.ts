import { jetstream } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger';
import { extractTraceContext, inSpan } from '../telemetry/tracing';
import { HeldMessages } from './held-messages';
import { KeyedLanes } from './lanes';
import { subjectCarries } from './subjects';
import { backoffMs } from '../backoff';

/** Redelivery delay after a transient failure: doubles per delivery, capped. */
export function redeliveryDelayMs(deliveryCount: number): number {
  return backoffMs(deliveryCount, 250, 30_000);
}

export interface KeyedConsumer {
  lanes: KeyedLanes;
  /** Settles when the consume loop ends (after stop, or if it fails). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The consume loop every order-keyed consumer shares: pull from a durable consumer, parse each message
 * (one that cannot be parsed, or whose subject is not its type's, is terminated at once, so it becomes
 * a dead letter), and hand it to the lane of its order, inside a span that continues the trace the
 * message carries. `handle` acks or naks.
 */
export async function consumeByOrder<
  T extends { orderId: string; commandId: string; type?: string },
>(opts: {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  log: Logger;
  lanes: number;
  /** Messages held per lane on average: the lanes together hold `lanes × laneQueue` at most. */
  laneQueue?: number;
  /** A verb for the span and log lines: "process", "deliver". */
  verb: string;
  parse: (raw: unknown) => T;
  /** Each subject carries one type (`cmd.<type>`, `reply.<type>`), as the app's do; unless false. */
  typedSubjects?: boolean;
  onRefused?: () => void;
  handle: (m: JsMsg, body: T) => Promise<void>;
}): Promise<KeyedConsumer> {
  const { log } = opts;
  const laneQueue = opts.laneQueue ?? 16;
  const lanes = new KeyedLanes(opts.lanes, opts.lanes * laneQueue, (err) =>
    log.error({ err }, 'lane task failed'),
  );
  const consumer = await jetstream(opts.nc).consumers.get(opts.stream, opts.consumer);
  // JetStream's own default ack wait is 30 s.
  const ackWaitMs = ((await consumer.info(true)).config.ack_wait ?? 30e9) / 1e6;
  const held = new HeldMessages(Math.max(100, ackWaitMs / 2));
  const messages = await consumer.consume({ max_messages: lanes.capacity });

  /**
   * The message's body, or why it is refused for good: it is not its schema's JSON, or it claims
   * another type than its subject carries (who may publish on a subject is the broker's to enforce, so
   * a body of another type there would let one service speak for another).
   */
  const admit = (m: JsMsg): { body: T } | { refused: string } => {
    let body: T;
    try {
      body = opts.parse(m.json());
    } catch (err) {
      return { refused: `unparseable: ${(err as Error).message.slice(0, 200)}` };
    }
    if (opts.typedSubjects !== false && !subjectCarries(m.subject, body.type))
      return { refused: `wrong subject: a ${body.type ?? 'untyped'} message on ${m.subject}` };
    return { body };
  };

  const done = (async () => {
    for await (const m of messages) {
      const admitted = admit(m);
      if ('refused' in admitted) {
        log.error(
          { subject: m.subject, seq: m.seq, reason: admitted.refused },
          `message refused and terminated (${opts.verb})`,
        );
        opts.onRefused?.();
        m.term(admitted.refused);
        continue;
      }
      const { body } = admitted;
      held.hold(m);
      await lanes.submit(body.orderId, () =>
        inSpan(
          `${opts.verb} ${m.subject}`,
          extractTraceContext(m.headers),
          { 'shipshape.order_id': body.orderId, 'shipshape.command_id': body.commandId },
          () => opts.handle(m, body),
        ).finally(() => held.release(m)),
      );
    }
    await lanes.idle();
  })().finally(() => held.stop());

  return {
    lanes,
    done,
    async stop() {
      await messages.close();
      await done;
    },
  };
}
