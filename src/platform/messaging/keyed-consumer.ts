import { jetstream } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../logger';
import { extractTraceContext, inSpan } from '../telemetry/tracing';
import { KeyedLanes } from './lanes';
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
 * (one that cannot be parsed is terminated at once, so it becomes a dead letter), and hand it to the lane
 * of its order, inside a span that continues the trace the message carries. `handle` acks or naks.
 */
export async function consumeByOrder<T extends { orderId: string; commandId: string }>(opts: {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  log: Logger;
  lanes: number;
  laneQueue?: number;
  /** A verb for the span and log lines: "process", "deliver". */
  verb: string;
  parse: (raw: unknown) => T;
  onUnparseable?: () => void;
  handle: (m: JsMsg, body: T) => Promise<void>;
}): Promise<KeyedConsumer> {
  const { log } = opts;
  const laneQueue = opts.laneQueue ?? 16;
  const lanes = new KeyedLanes(opts.lanes, laneQueue, (err) =>
    log.error({ err }, 'lane task failed'),
  );
  const consumer = await jetstream(opts.nc).consumers.get(opts.stream, opts.consumer);
  const messages = await consumer.consume({ max_messages: lanes.laneCount * laneQueue });

  const done = (async () => {
    for await (const m of messages) {
      let body: T;
      try {
        body = opts.parse(m.json());
      } catch (err) {
        log.error(
          { err, subject: m.subject, seq: m.seq },
          `unparseable message terminated (${opts.verb})`,
        );
        opts.onUnparseable?.();
        m.term(`unparseable: ${(err as Error).message.slice(0, 200)}`);
        continue;
      }
      await lanes.submit(body.orderId, () =>
        inSpan(
          `${opts.verb} ${m.subject}`,
          extractTraceContext(m.headers),
          { 'shipshape.order_id': body.orderId, 'shipshape.command_id': body.commandId },
          () => opts.handle(m, body),
        ),
      );
    }
    await lanes.idle();
  })();

  return {
    lanes,
    done,
    async stop() {
      await messages.close();
      await done;
    },
  };
}
