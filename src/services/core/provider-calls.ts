import type { Pool, PoolClient } from 'pg';
import type { CommandEnvelope, CommandType, ServiceName } from '../../domain/types';
import { ProviderRefusedError } from './provider-http';

/**
 * Notes, committed on its own, a provider call the command is about to make. It needs no lock on the
 * order: the call is made only later, by a transaction that holds the lock and finds no newer command
 * applied. A compensation that commits before that transaction makes the command stale, so it never
 * calls; one that runs after finds the outcome recorded or, if its answer was lost, this note.
 */
export async function noteProviderCall(
  db: Pool,
  service: ServiceName,
  cmd: CommandEnvelope,
): Promise<void> {
  await db.query(
    `INSERT INTO ${service}.provider_calls (command_id, order_id, command_type, payload)
     VALUES ($1, $2, $3, $4) ON CONFLICT (command_id) DO NOTHING`,
    [cmd.commandId, cmd.orderId, cmd.type, JSON.stringify(cmd.payload)],
  );
}

/**
 * Removes the note once the call's outcome is known: in the transaction that records it (or finds the
 * command handled before, or stale), or after the provider refused the call.
 */
export async function dropProviderCall(
  db: Pool | PoolClient,
  service: ServiceName,
  commandId: string,
): Promise<void> {
  await db.query(`DELETE FROM ${service}.provider_calls WHERE command_id = $1`, [commandId]);
}

export interface NotedCall<T extends CommandType> {
  commandId: string;
  payload: CommandEnvelope<T>['payload'];
}

/**
 * What a compensation undoes: the order's forward effect as recorded or, when nothing was recorded but
 * the call was noted (its answer lost), what `replay` records after asking the provider again under
 * the same key. The note is found by order (the cleanup of a closed run does not know the forward
 * command's id) and taken in the compensation's transaction. Undefined when nothing was made: no note
 * (the forward command never called and, older than the compensation, never will), or the provider
 * refused the replay (it holds nothing under the key).
 */
export async function effectToUndo<T extends CommandType, R>(
  tx: PoolClient,
  service: ServiceName,
  forward: { type: T; orderId: string },
  effect: { recorded: R | undefined; replay: (noted: NotedCall<T>) => Promise<R> },
): Promise<R | undefined> {
  if (effect.recorded) return effect.recorded;
  const { rows } = await tx.query<{ command_id: string; payload: CommandEnvelope<T>['payload'] }>(
    `DELETE FROM ${service}.provider_calls WHERE order_id = $1 AND command_type = $2
     RETURNING command_id, payload`,
    [forward.orderId, forward.type],
  );
  const row = rows[0];
  if (!row) return undefined;
  try {
    return await effect.replay({ commandId: row.command_id, payload: row.payload });
  } catch (err) {
    if (err instanceof ProviderRefusedError) return undefined;
    throw err;
  }
}
