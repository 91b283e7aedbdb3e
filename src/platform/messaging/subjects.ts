import type { CommandType, ServiceName } from '../../domain/types';

export const COMMAND_STREAM = 'COMMANDS';
export const REPLY_STREAM = 'REPLIES';

/**
 * A copy of a work stream (a JetStream mirror, same sequence numbers) that keeps what the work stream
 * lets go once it is consumed, for a while: a dead letter is read back from it by its sequence.
 */
export const trailOf = (stream: string): string => `${stream}_TRAIL`;
export const COMMAND_TRAIL = trailOf(COMMAND_STREAM);
export const REPLY_TRAIL = trailOf(REPLY_STREAM);
export const REPLY_BRIDGE_CONSUMER = 'reply-bridge';

export const commandSubject = (type: CommandType): string => `cmd.${type}`;
export const replySubject = (type: CommandType): string => `reply.${type}`;
/** True when `subject` is the command or reply subject of `type`: `cmd.<type>` or `reply.<type>`. */
export const subjectCarries = (subject: string, type: string | undefined): boolean =>
  type !== undefined && (subject === `cmd.${type}` || subject === `reply.${type}`);
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
export type ConsumerRef = readonly [stream: string, consumer: string];
