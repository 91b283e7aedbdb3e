import { DatabaseError } from 'pg';
import type { CommandEnvelope } from '../../domain/types';

/** A failure that may pass (provider 5xx or timeout, database unavailable): the command is redelivered later. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A message that can never be handled (bad JSON, fails its schema, unknown type): terminated, not retried. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/**
 * PostgreSQL's answers that may pass, by SQLSTATE: a connection lost or refused (class 08), the server
 * out of resources such as connections (53), shutting down or restarting (57P01-57P03), and a
 * transaction that lost a serialization race or a deadlock (40001, 40P01).
 */
const TRANSIENT_SQLSTATE_CLASSES = ['08', '53'];
const TRANSIENT_SQLSTATES = ['57P01', '57P02', '57P03', '40001', '40P01'];
/** Socket failures on the way to the database (or a provider). */
const TRANSIENT_SOCKET_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'];

export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  const code = (err as { code?: unknown })?.code;
  if (err instanceof DatabaseError)
    return (
      typeof code === 'string' &&
      (TRANSIENT_SQLSTATES.includes(code) || TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2)))
    );
  if (typeof code === 'string' && TRANSIENT_SOCKET_CODES.includes(code)) return true;
  // node-postgres's own errors carry no SQLSTATE: a connection it lost, or could not get in time.
  return /^(Connection terminated|timeout exceeded when trying to connect)/i.test(
    (err as Error)?.message ?? '',
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
