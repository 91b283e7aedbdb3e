import type { CommandEnvelope } from '../../domain/types';

/** A failure that may pass (provider 5xx or timeout, database unavailable): the command is redelivered later. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A message that can never be handled (bad JSON, fails its schema, unknown type): terminated, not retried. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  // pg connection failures and server shutdowns: the database will be back.
  const code = (err as { code?: string })?.code ?? '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08001',
      '08003',
      '40001',
      '40P01',
    ].includes(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(
      (err as Error)?.message ?? '',
    )
  );
}

/**
 * A command from a Temporal run that another run has replaced at this service (a reset, or the cleanup
 * of a run that closed unfinished): recorded in `fenced_commands`, then acknowledged unanswered.
 */
export class CommandFencedError extends Error {
  override name = 'CommandFencedError';
  constructor(
    readonly command: Pick<CommandEnvelope, 'commandId' | 'orderId' | 'sentBy'>,
    readonly claimant: { runId: string; at: number },
  ) {
    super(
      `command ${command.commandId} from run ${command.sentBy?.runId ?? '?'} refused: run ${claimant.runId} acts on order ${command.orderId} here now`,
    );
  }
}
