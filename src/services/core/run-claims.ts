import type { PoolClient } from 'pg';
import type { CommandEnvelope, ServiceName } from '../../domain/types';

/**
 * Which Temporal run may act on an order at this service: the run whose send reached it last. A reset
 * replaces an order's run with a new one, and the cleanup of a run that closed unfinished runs as a
 * run of its own; every send of the new run is later (Temporal's clock) than every send of the run it
 * replaced, so the new run takes the claim with its first command here, and a command the old run
 * left in the stream is fenced when it arrives: refused, recorded, never applied or answered.
 * Commands without a sender's stamp (from before stamps existed) are not fenced.
 */

export type Claim = { kind: 'held' } | { kind: 'fenced'; claimant: { runId: string; at: number } };

/** Takes or keeps the order's claim for the command's run. Run inside the order's lock. */
export async function claimOrder(
  tx: PoolClient,
  service: ServiceName,
  cmd: CommandEnvelope,
): Promise<Claim> {
  const by = cmd.sentBy;
  if (!by) return { kind: 'held' };
  const { rows } = await tx.query<{ run_id: string; sent_at_ms: string }>(
    `SELECT run_id, sent_at_ms FROM ${service}.order_claims WHERE order_id = $1`,
    [cmd.orderId],
  );
  const current = rows[0];
  if (!current) {
    await tx.query(
      `INSERT INTO ${service}.order_claims (order_id, run_id, sent_at_ms) VALUES ($1, $2, $3)`,
      [cmd.orderId, by.runId, by.at],
    );
    return { kind: 'held' };
  }
  if (current.run_id === by.runId) return { kind: 'held' };
  // The claimant's first send here is enough to compare with: every send of a run it replaced came
  // before that, every send of a run that replaces it comes after.
  const claimedAt = Number(current.sent_at_ms);
  if (by.at <= claimedAt)
    return { kind: 'fenced', claimant: { runId: current.run_id, at: claimedAt } };
  await tx.query(
    `UPDATE ${service}.order_claims SET run_id = $2, sent_at_ms = $3, claimed_at = now()
     WHERE order_id = $1`,
    [cmd.orderId, by.runId, by.at],
  );
  return { kind: 'held' };
}

/** Records a command refused because another run holds the order (the refusal an operator can see). */
export async function recordFenced(
  tx: PoolClient,
  service: ServiceName,
  cmd: CommandEnvelope,
  claimant: { runId: string; at: number },
): Promise<void> {
  await tx.query(
    `INSERT INTO ${service}.fenced_commands
       (command_id, command_type, order_id, run_id, sent_at_ms, claimant_run_id, claimant_sent_at_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
    [
      cmd.commandId,
      cmd.type,
      cmd.orderId,
      cmd.sentBy?.runId ?? '',
      cmd.sentBy?.at ?? 0,
      claimant.runId,
      claimant.at,
    ],
  );
}
