import { SERVICES } from '../../domain/types';
import type { CommandType, ServiceName } from '../../domain/types';

export const COMMAND_STREAM = 'COMMANDS';
export const REPLY_STREAM = 'REPLIES';
export const REPLY_BRIDGE_CONSUMER = 'reply-bridge';

export const commandSubject = (type: CommandType): string => `cmd.${type}`;
export const replySubject = (type: CommandType): string => `reply.${type}`;
export const serviceCommandFilter = (service: ServiceName): string => `cmd.${service}.>`;
export const serviceConsumerName = (service: ServiceName): string => `svc-${service}`;

/** Headers carried by every command and reply, so a message can be traced without parsing its body. */
export const HDR_COMMAND_ID = 'Shipshape-Command-Id';
export const HDR_ORDER_ID = 'Shipshape-Order-Id';

/** JetStream's advisories for messages that ran out of deliveries or were terminated, kept in a stream so none is missed. */
export const ADVISORY_STREAM = 'DEAD_LETTER_ADVISORIES';
export const DEAD_LETTER_CONSUMER = 'dead-letters';
export const deadLetterAdvisorySubjects = (streams: string[]): string[] =>
  streams.flatMap((s) => [
    `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${s}.*`,
    `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${s}.*`,
  ]);

/** A durable consumer, as [stream, consumer]. */
export type ConsumerRef = [stream: string, consumer: string];

/**
 * The durable consumers each process pulls from: what setup makes, what a process checks before it
 * starts, what its NATS user may pull from, and what the backlog reports.
 */
export function consumersPulledBy(process: string): ConsumerRef[] {
  if ((SERVICES as readonly string[]).includes(process))
    return [[COMMAND_STREAM, serviceConsumerName(process as ServiceName)]];
  if (process === 'reply-bridge')
    return [
      [REPLY_STREAM, REPLY_BRIDGE_CONSUMER],
      [ADVISORY_STREAM, DEAD_LETTER_CONSUMER],
    ];
  return [];
}

/** Every durable consumer of the app. */
export const ALL_CONSUMERS: ConsumerRef[] = [...SERVICES, 'reply-bridge'].flatMap(
  consumersPulledBy,
);
