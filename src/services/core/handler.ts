import type { PoolClient } from 'pg';
import type { CommandEnvelope, CommandType, ReplyEnvelope, ServiceName } from '../../domain/types';

export type ReplyBody = Pick<ReplyEnvelope, 'outcome' | 'result' | 'error'>;

/**
 * How a service handles one command type: the effect, inside the one transaction that also records the
 * command id and the reply, while the order's lock is held. A provider call made here uses an
 * Idempotency-Key derived from the command id, so the redelivery after a failed commit repeats it safely.
 * Throw TransientError to have the command redelivered later.
 */
export type CommandHandler = (tx: PoolClient, cmd: CommandEnvelope) => Promise<ReplyBody>;

export interface ServiceDefinition {
  name: ServiceName;
  handlers: Partial<Record<CommandType, CommandHandler>>;
}

/**
 * The Idempotency-Key a provider call carries: the command id, deterministic per operation per order,
 * so every retry, redelivery or reconcile of the command reuses it.
 */
export const providerKey = (commandId: string): string => commandId;

export const succeeded = (result?: ReplyEnvelope['result']): ReplyBody => ({
  outcome: 'succeeded',
  ...(result ? { result } : {}),
});
export const rejected = (code: string, message: string): ReplyBody => ({
  outcome: 'rejected',
  error: { code, message },
});
