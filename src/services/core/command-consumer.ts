import { jetstream } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { parseCommand } from '../../domain/schemas';
import type { CommandEnvelope } from '../../domain/types';
import type { Logger } from '../../platform/logger';
import { consumeByOrder, redeliveryDelayMs } from '../../platform/messaging/keyed-consumer';
import type { KeyedConsumer } from '../../platform/messaging/keyed-consumer';
import { publishJson } from '../../platform/messaging/publish';
import { COMMAND_STREAM, serviceConsumerName } from '../../platform/messaging/subjects';
import { processCommand } from './command-processor';
import { PublishedMarks } from './outbox';
import { CommandFencedError, isTransient, PoisonMessageError } from './errors';
import type { ServiceDefinition } from './handler';
import type { ConsumerMetrics } from '../../platform/metrics/registry';
import { crashPoint } from '../../platform/crash-points';

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

export type RunningConsumer = KeyedConsumer;

export async function startCommandConsumer(opts: CommandConsumerOptions): Promise<RunningConsumer> {
  const { pool, service, log } = opts;
  const js = jetstream(opts.nc);
  const count = (outcome: string) => opts.metrics?.handled.inc({ service: service.name, outcome });
  const marks = new PublishedMarks(pool, service.name, (err) =>
    log.warn({ err }, 'marking replies published failed; the outbox relay will publish them again'),
  );

  const handle = async (m: JsMsg, cmd: CommandEnvelope): Promise<void> => {
    const clog = log.child({
      orderId: cmd.orderId,
      workflowId: cmd.workflowId,
      commandId: cmd.commandId,
    });
    try {
      const r = await processCommand(pool, service, cmd);
      crashPoint('service.after-commit-before-ack', service.name);
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
      let leftToRelay = false;
      try {
        await publishJson(js, r.subject, r.reply, r.msgId, {
          commandId: cmd.commandId,
          orderId: cmd.orderId,
        });
        // Not awaited: the mark is batched with other lanes' and only spares the relay a re-send.
        marks.add(r.reply.replyId);
      } catch (err) {
        // The reply is safe in the outbox; the relay will publish it.
        clog.warn({ err }, 'reply publish failed; left to the outbox relay');
        leftToRelay = true;
      }
      await m.ackAck();
      if (leftToRelay) crashPoint('service.after-ack-before-reply', service.name);
    } catch (err) {
      if (err instanceof CommandFencedError) {
        // Recorded in fenced_commands; nobody waits for an answer: its run was replaced.
        clog.warn(
          { runId: cmd.sentBy?.runId, claimant: err.claimant.runId },
          'command from a replaced run fenced',
        );
        count('fenced');
        await m.ackAck();
      } else if (err instanceof PoisonMessageError) {
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

  const consumer = await consumeByOrder({
    nc: opts.nc,
    stream: COMMAND_STREAM,
    consumer: serviceConsumerName(service.name),
    log,
    lanes: opts.lanes ?? 8,
    ...(opts.laneQueue ? { laneQueue: opts.laneQueue } : {}),
    verb: 'process',
    parse: parseCommand,
    onRefused: () => count('terminated'),
    handle,
  });
  return {
    ...consumer,
    async stop() {
      await consumer.stop();
      await marks.settled();
    },
  };
}
