import type { Pool } from 'pg';
import { inTransaction } from '../../platform/db/pool';
import type { ServiceName } from '../../domain/types';
import type { Logger } from '../../platform/logger';
import type { RetentionMetrics } from '../../platform/metrics/table-sizes';

/**
 * A service's record of an order — the commands it consumed and their replies (outbox), the run that
 * holds the order (order_claims), the commands it fenced, the provider calls it noted — deduplicates
 * that order's commands, keeps them in order and refuses to redo what was undone. A command of the
 * order may arrive for as long as Temporal keeps a run of it that an operator could reset, since a
 * reset sends the run's commands again: so the retention is never shorter than the namespace's
 * retention plus the longest an order lives (src/platform/config.ts refuses less).
 *
 * An order's record goes whole, in one transaction under the order's lock, once every row of it is
 * older than the retention: no part outlives another, so a command that arrived late anyway would
 * find either the whole record or none of it, never a forward command without its compensation.
 * A reply still unpublished is work the outbox relay owes: its order is kept, whatever its age.
 *
 * A provider-call note is needed until its command's outcome is recorded (the command's transaction
 * removes it) or compensated (the compensation takes it): until then a compensation may have to ask
 * the provider again under the note's key. One still there when its order's record goes is a call
 * whose outcome nobody learned and that no run is left to compensate: pruning it loses nothing the
 * code could still use, so it goes too, and is returned, for the caller to log with its key so that
 * someone can look it up at the provider.
 */

export interface PrunedRecords {
  orders: number;
  /** The batch was full: older records may remain. */
  more: boolean;
  /** Rows deleted per table, `<schema>.<table>`. */
  rows: Record<string, number>;
  /** Provider calls whose outcome nobody recorded, pruned with their orders. */
  unsettledCalls: { commandId: string; orderId: string; commandType: string }[];
}

/** The tables of a service's record of an order, as `<schema>.<table>`. */
export function recordTables(service: ServiceName, notesCalls: boolean): string[] {
  return [
    'consumed_messages',
    'outbox',
    'order_claims',
    'fenced_commands',
    ...(notesCalls ? ['provider_calls'] : []),
  ].map((t) => `${service}.${t}`);
}

/** True for an order none of whose record at `s` is as young as `before`, and whose replies are all sent. */
const wholeRecordOlderThan = (s: ServiceName, notesCalls: boolean, order: string) => `
  NOT EXISTS (SELECT 1 FROM ${s}.consumed_messages n WHERE n.order_id = ${order} AND n.consumed_at >= $1)
  AND NOT EXISTS (SELECT 1 FROM ${s}.consumed_messages n JOIN ${s}.outbox o USING (command_id)
                  WHERE n.order_id = ${order} AND o.published_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM ${s}.order_claims n WHERE n.order_id = ${order} AND n.claimed_at >= $1)
  AND NOT EXISTS (SELECT 1 FROM ${s}.fenced_commands n WHERE n.order_id = ${order} AND n.refused_at >= $1)
  ${notesCalls ? `AND NOT EXISTS (SELECT 1 FROM ${s}.provider_calls n WHERE n.order_id = ${order} AND n.noted_at >= $1)` : ''}`;

/**
 * Prunes, in one transaction, the records of the orders all of whose record is more than
 * `retentionHours` old (by the database's clock), found among the `batch` oldest commands (and, for a
 * service that notes provider calls, the `batch` oldest notes, which may have no command recorded);
 * an order kept for a younger row or an unsent reply is passed over.
 */
export async function pruneOrderRecords(
  pool: Pool,
  service: ServiceName,
  notesCalls: boolean,
  retentionHours: number,
  batch: number,
): Promise<PrunedRecords> {
  const s = service;
  return inTransaction(pool, async (tx) => {
    const { rows: cut } = await tx.query<{ before: Date }>(
      'SELECT now() - make_interval(hours => $1) AS before',
      [retentionHours],
    );
    const before = cut[0]!.before;
    // Each source scanned oldest first, at most `batch` rows: a full scan says more may remain.
    const { rows: found } = await tx.query<{ source: string; order_id: string }>(
      `(SELECT 'commands' AS source, c.order_id FROM ${s}.consumed_messages c
         WHERE c.consumed_at < $1 AND ${wholeRecordOlderThan(s, notesCalls, 'c.order_id')}
         ORDER BY c.consumed_at LIMIT $2)
       ${
         notesCalls
           ? `UNION ALL (SELECT 'notes' AS source, p.order_id FROM ${s}.provider_calls p
                         WHERE p.noted_at < $1 AND ${wholeRecordOlderThan(s, notesCalls, 'p.order_id')}
                         ORDER BY p.noted_at LIMIT $2)`
           : ''
       }`,
      [before, batch],
    );
    const scanned = (source: string) => found.filter((r) => r.source === source).length;
    const more = scanned('commands') >= batch || scanned('notes') >= batch;
    const orders = [...new Set(found.map((r) => r.order_id))].sort();
    const pruned: PrunedRecords = { orders: 0, more, rows: {}, unsettledCalls: [] };
    if (!orders.length) return pruned;
    // The lock the command processor takes per order: a command of the order being handled now
    // finishes first, and the check below then sees its rows.
    await tx.query(
      `SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || o, 0))
       FROM unnest($2::text[]) AS o ORDER BY o`,
      [s, orders],
    );
    const { rows } = await tx.query<{
      orders: number;
      consumed: number;
      outbox: number;
      claims: number;
      fenced: number;
      calls: { commandId: string; orderId: string; commandType: string }[] | null;
    }>(
      `WITH gone AS (
         SELECT o AS order_id FROM unnest($2::text[]) AS o WHERE ${wholeRecordOlderThan(s, notesCalls, 'o')}
       ),
       outbox AS (DELETE FROM ${s}.outbox x USING ${s}.consumed_messages c, gone
                  WHERE x.command_id = c.command_id AND c.order_id = gone.order_id RETURNING 1),
       consumed AS (DELETE FROM ${s}.consumed_messages c USING gone
                    WHERE c.order_id = gone.order_id RETURNING 1),
       claims AS (DELETE FROM ${s}.order_claims c USING gone
                  WHERE c.order_id = gone.order_id RETURNING 1),
       fenced AS (DELETE FROM ${s}.fenced_commands f USING gone
                  WHERE f.order_id = gone.order_id RETURNING 1),
       calls AS (${
         notesCalls
           ? `DELETE FROM ${s}.provider_calls p USING gone WHERE p.order_id = gone.order_id
              RETURNING p.command_id, p.order_id, p.command_type`
           : `SELECT NULL::text AS command_id, NULL::text AS order_id, NULL::text AS command_type WHERE false`
       })
       SELECT (SELECT count(*)::int FROM gone) AS orders,
              (SELECT count(*)::int FROM consumed) AS consumed,
              (SELECT count(*)::int FROM outbox) AS outbox,
              (SELECT count(*)::int FROM claims) AS claims,
              (SELECT count(*)::int FROM fenced) AS fenced,
              (SELECT json_agg(json_build_object('commandId', command_id, 'orderId', order_id,
                                                 'commandType', command_type)) FROM calls) AS calls`,
      [before, orders],
    );
    const r = rows[0]!;
    pruned.orders = r.orders;
    pruned.rows = {
      [`${s}.consumed_messages`]: r.consumed,
      [`${s}.outbox`]: r.outbox,
      [`${s}.order_claims`]: r.claims,
      [`${s}.fenced_commands`]: r.fenced,
      ...(notesCalls ? { [`${s}.provider_calls`]: r.calls?.length ?? 0 } : {}),
    };
    pruned.unsettledCalls = r.calls ?? [];
    return pruned;
  });
}

/** One batch of a service's pruning, counted and logged; `startPruning` runs it. */
export function orderRecordPruning(opts: {
  pool: Pool;
  service: ServiceName;
  notesCalls: boolean;
  retentionHours: number;
  metrics: RetentionMetrics;
  log: Logger;
}): (batch: number) => Promise<boolean> {
  return async (batch) => {
    const p = await pruneOrderRecords(
      opts.pool,
      opts.service,
      opts.notesCalls,
      opts.retentionHours,
      batch,
    );
    for (const [table, n] of Object.entries(p.rows)) if (n) opts.metrics.pruned.inc({ table }, n);
    for (const call of p.unsettledCalls)
      opts.log.warn(
        { ...call, idempotencyKey: call.commandId },
        'pruned a provider call whose outcome was never recorded: look it up at the provider under its key',
      );
    if (p.orders)
      opts.log.info(
        { orders: p.orders, rows: p.rows },
        'pruned order records past their retention',
      );
    return p.more;
  };
}
