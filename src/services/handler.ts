import type { PoolClient } from 'pg';
import type { CommandEnvelope, CommandType, ReplyEnvelope, ServiceName } from '../domain/types';

export type ReplyBody = Pick<ReplyEnvelope, 'outcome' | 'result' | 'error'>;

/** How a service handles one command type. */
export interface CommandHandler<P = unknown> {
  /**
   * Work outside the transaction that is safe to repeat — a provider call under an Idempotency-Key
   * derived from the command id. Throw TransientError to have the command redelivered later.
   */
  prepare?(cmd: CommandEnvelope): Promise<P>;
  /** The effect, inside the one transaction that also records the command id and the reply. */
  apply(tx: PoolClient, cmd: CommandEnvelope, prepared: P): Promise<ReplyBody>;
}

export interface ServiceDefinition {
  name: ServiceName;
  handlers: Partial<Record<CommandType, CommandHandler<any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const succeeded = (result?: ReplyEnvelope['result']): ReplyBody => ({
  outcome: 'succeeded',
  ...(result ? { result } : {}),
});
export const rejected = (code: string, message: string): ReplyBody => ({
  outcome: 'rejected',
  error: { code, message },
});
