import { jetstream } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { parseCommand } from '../domain/schemas';
import type { CommandEnvelope } from '../domain/types';
import type { Logger } from '../logger';
import { KeyedLanes } from '../messaging/lanes';
import { publishJson } from '../messaging/publish';
import { COMMAND_STREAM, serviceConsumerName } from '../messaging/subjects';
import { markPublished, processCommand } from './command-processor';
import { isTransient, PoisonMessageError } from './errors';
import type { ServiceDefinition } from './handler';
import type { ConsumerMetrics } from '../metrics/registry';
import { extractTraceContext, inSpan } from '../telemetry/tracing';

export interface CommandConsumerOptions {
  nc: NatsConnection;
  pool: Pool;
  service: ServiceDefinition;
  log: Logger;
  /** Orders handled in parallel; one order's commands always share a lane and run in turn. */
  lanes?: number;
  laneQueue?: number;
  /** The consumer's max deliveries: the last failing delivery terminates the message with its error, for the dead-letter table. */
  maxDeliver?: number;
  metrics?: ConsumerMetrics;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Settles when the consume loop ends (after stop, or if it fails). */
  done: Promise<void>;
  lanes: KeyedLanes;
}

/** Redelivery delay after a transient failure: doubles per delivery, capped. */
export function redeliveryDelayMs(deliveryCount: number): number {
  return Math.min(30_000, 250 * 2 ** Math.max(0, deliveryCount - 1));
}

export async function startCommandConsumer(opts: CommandConsumerOptions): Promise<RunningConsumer> {
  const { nc, pool, service, log } = opts;
  const js = jetstream(nc);
  const lanes = new KeyedLanes(opts.lanes ?? 8, opts.laneQueue ?? 16, (err) =>
    log.error({ err }, 'lane task failed'),
  );
  const consumer = await js.consumers.get(COMMAND_STREAM, serviceConsumerName(service.name));
  const messages = await consumer.consume({
    max_messages: lanes.laneCount * (opts.laneQueue ?? 16),
  });

  const count = (outcome: string) => opts.metrics?.handled.inc({ service: service.name, outcome });

  const handle = (m: JsMsg, cmd: CommandEnvelope): Promise<void> =>
    inSpan(
      `process ${m.subject}`,
      extractTraceContext(m.headers),
      { 'shipshape.order_id': cmd.orderId, 'shipshape.command_id': cmd.commandId },
      () => handleTraced(m, cmd),
    );

  const handleTraced = async (m: JsMsg, cmd: CommandEnvelope): Promise<void> => {
    const clog = log.child({
      orderId: cmd.orderId,
      workflowId: cmd.workflowId,
      commandId: cmd.commandId,
    });
    try {
      const r = await processCommand(pool, service, cmd);
      count(
        !r.firstTime
          ? 'duplicate'
          : r.reply.outcome === 'succeeded'
            ? 'applied'
            : r.reply.error?.code === 'stale'
              ? 'stale'
              : 'rejected',
      );
      clog.debug(
        { outcome: r.reply.outcome, firstTime: r.firstTime, delivery: m.info.deliveryCount },
        'command handled',
      );
      try {
        await publishJson(js, r.subject, r.reply, r.reply.replyId, {
          commandId: cmd.commandId,
          orderId: cmd.orderId,
        });
        await markPublished(pool, service.name, r.reply.replyId);
      } catch (err) {
        // The reply is safe in the outbox; the relay will publish it.
        clog.warn({ err }, 'reply publish failed; left to the outbox relay');
      }
      await m.ackAck();
    } catch (err) {
      if (err instanceof PoisonMessageError) {
        clog.error({ err }, 'poison command terminated');
        count('terminated');
        m.term(err.message);
      } else if (opts.maxDeliver !== undefined && m.info.deliveryCount >= opts.maxDeliver) {
        clog.error(
          { err, delivery: m.info.deliveryCount },
          'command failed on its last delivery; dead-lettered',
        );
        count('terminated');
        m.term(
          `failed ${m.info.deliveryCount} deliveries; last error: ${(err as Error).message}`.slice(
            0,
            500,
          ),
        );
      } else {
        const delay = redeliveryDelayMs(m.info.deliveryCount);
        count('failed');
        clog[isTransient(err) ? 'warn' : 'error'](
          { err, delivery: m.info.deliveryCount, retryInMs: delay },
          'command failed; will be redelivered',
        );
        m.nak(delay);
      }
    }
  };

  const done = (async () => {
    for await (const m of messages) {
      let cmd: CommandEnvelope;
      try {
        cmd = parseCommand(m.json());
      } catch (err) {
        log.error({ err, subject: m.subject, seq: m.seq }, 'unparseable command terminated');
        count('terminated');
        m.term(`unparseable: ${(err as Error).message.slice(0, 200)}`);
        continue;
      }
      await lanes.submit(cmd.orderId, () => handle(m, cmd));
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
