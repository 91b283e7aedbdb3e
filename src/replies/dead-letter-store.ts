import type { Pool } from 'pg';
import type { Logger } from '../platform/logger';
import type { RetentionMetrics } from '../platform/metrics/table-sizes';

export interface DeadLetter {
  id: string;
  stream: string;
  streamSeq: number;
  consumer: string;
  subject: string;
  headers: Record<string, string>;
  payload: string;
  error: string;
  deliveryCount: number;
  orderId: string | null;
  commandId: string | null;
  status: 'open' | 'replayed';
  firstSeen: Date;
  lastSeen: Date;
  replayedAt: Date | null;
}

const COLUMNS = `id::text AS id, stream, stream_seq AS "streamSeq", consumer, subject, headers, payload, error,
  delivery_count AS "deliveryCount", order_id AS "orderId", command_id AS "commandId", status,
  first_seen AS "firstSeen", last_seen AS "lastSeen", replayed_at AS "replayedAt"`;

/** Records a dead letter once per stream message; a repeat updates when it was last seen. */
export async function recordDeadLetter(
  pool: Pool,
  d: Omit<DeadLetter, 'id' | 'status' | 'firstSeen' | 'lastSeen' | 'replayedAt'>,
): Promise<DeadLetter> {
  const { rows } = await pool.query<DeadLetter>(
    `INSERT INTO app.dead_letters (stream, stream_seq, consumer, subject, headers, payload, error, delivery_count, order_id, command_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (stream, stream_seq) DO UPDATE
       SET last_seen = now(), delivery_count = GREATEST(app.dead_letters.delivery_count, EXCLUDED.delivery_count),
           error = EXCLUDED.error, status = 'open'
     RETURNING ${COLUMNS}`,
    [
      d.stream,
      d.streamSeq,
      d.consumer,
      d.subject,
      JSON.stringify(d.headers),
      d.payload,
      d.error,
      d.deliveryCount,
      d.orderId,
      d.commandId,
    ],
  );
  return rows[0]!;
}

export async function listDeadLetters(
  pool: Pool,
  filter: { status?: string; orderId?: string; limit: number },
): Promise<DeadLetter[]> {
  const { rows } = await pool.query<DeadLetter>(
    `SELECT ${COLUMNS} FROM app.dead_letters
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR order_id = $2)
     ORDER BY id DESC LIMIT $3`,
    [filter.status ?? null, filter.orderId ?? null, filter.limit],
  );
  return rows;
}

export async function getDeadLetter(pool: Pool, id: string): Promise<DeadLetter | undefined> {
  if (!/^\d+$/.test(id)) return undefined;
  const { rows } = await pool.query<DeadLetter>(
    `SELECT ${COLUMNS} FROM app.dead_letters WHERE id = $1`,
    [id],
  );
  return rows[0];
}

export async function markReplayed(pool: Pool, id: string): Promise<void> {
  await pool.query(
    `UPDATE app.dead_letters SET status = 'replayed', replayed_at = now() WHERE id = $1`,
    [id],
  );
}

/**
 * Deletes up to `batch` dead letters last seen more than `retentionHours` ago (the database's clock),
 * oldest first; answers the ids deleted and which of them were never replayed.
 */
export async function pruneDeadLetters(
  pool: Pool,
  retentionHours: number,
  batch: number,
): Promise<{ id: string; status: DeadLetter['status'] }[]> {
  const { rows } = await pool.query<{ id: string; status: DeadLetter['status'] }>(
    `DELETE FROM app.dead_letters WHERE id IN (
       SELECT id FROM app.dead_letters WHERE last_seen < now() - make_interval(hours => $1)
       ORDER BY last_seen LIMIT $2)
     RETURNING id::text AS id, status`,
    [retentionHours, batch],
  );
  return rows;
}

/** One batch of the dead letters' pruning, counted and logged; `startPruning` runs it. */
export function deadLetterPruning(opts: {
  pool: Pool;
  retentionHours: number;
  metrics: RetentionMetrics;
  log: Logger;
}): (batch: number) => Promise<boolean> {
  return async (batch) => {
    const gone = await pruneDeadLetters(opts.pool, opts.retentionHours, batch);
    if (!gone.length) return false;
    opts.metrics.pruned.inc({ table: 'app.dead_letters' }, gone.length);
    const neverReplayed = gone.filter((d) => d.status === 'open').map((d) => d.id);
    opts.log[neverReplayed.length ? 'warn' : 'info'](
      { pruned: gone.length, neverReplayed },
      'pruned dead letters past their retention',
    );
    return gone.length === batch;
  };
}
