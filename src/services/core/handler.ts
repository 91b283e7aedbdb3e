import type { PoolClient } from 'pg';
import type { CommandEnvelope, CommandType, ReplyEnvelope, ServiceName } from '../../domain/types';

export type ReplyBody = Pick<ReplyEnvelope, 'outcome' | 'result' | 'error'>;

/** The commands of one service: `inventory.reserve`, `inventory.commit`, … for `inventory`. */
export type CommandOf<S extends ServiceName> = Extract<CommandType, `${S}.${string}`>;

/**
 * How a service handles one command type: the effect, inside the one transaction that also records the
 * command id and the reply, while the order's lock is held. A provider call made here uses an
 * Idempotency-Key derived from the command id, so the redelivery after a failed commit repeats it safely.
 * Throw TransientError to have the command redelivered later.
 */
export type CommandHandler<T extends CommandType> = (
  tx: PoolClient,
  cmd: CommandEnvelope<T>,
) => Promise<ReplyBody>;

/** A service: its name (its schema and NATS subjects) and one handler for each of its commands. */
export interface ServiceOf<S extends ServiceName> {
  name: S;
  handlers: { [T in CommandOf<S>]: CommandHandler<T> };
  /**
   * Commands whose handler makes an effect at a provider that offers no look-up: each is noted before
   * its handler runs (provider-calls.ts), so the compensation can undo an effect whose answer was lost.
   */
  providerCalls?: readonly CommandOf<S>[];
}

/** Any one of the four services. */
export type ServiceDefinition = { [S in ServiceName]: ServiceOf<S> }[ServiceName];

/** The service's handler for a command; undefined for a command of another service. */
export function handlerFor(
  service: ServiceDefinition,
  cmd: CommandEnvelope,
): CommandHandler<CommandType> | undefined {
  // The map is keyed by command type, each handler typed for its own: looked up by the command's type.
  const handlers = service.handlers as Partial<Record<CommandType, CommandHandler<CommandType>>>;
  return handlers[cmd.type];
}

/** Whether the command makes an effect at a provider that offers no look-up (see `providerCalls`). */
export function callsProvider(service: ServiceDefinition, cmd: CommandEnvelope): boolean {
  const types: readonly CommandType[] = service.providerCalls ?? [];
  return types.includes(cmd.type);
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
