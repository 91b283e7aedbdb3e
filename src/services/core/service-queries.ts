import type { Pool } from 'pg';
import type { ServiceName } from '../../domain/types';
import { storedReply } from './outbox';
import type { QueryHandlers } from './queries';

/**
 * The questions every service answers the same way: its stored reply to a command (read from its own
 * outbox), and which of some orders it still holds an effect of (`heldSql`: its own table, `$1` the
 * order ids, answering `order_id`).
 */
export function commonQueries(service: ServiceName, heldSql: string): QueryHandlers {
  return {
    record: async (pool, { commandId }) =>
      (await storedReply(pool, service, commandId))?.reply ?? null,
    holds: async (pool: Pool, { orderIds }) => {
      if (!orderIds.length) return [];
      const { rows } = await pool.query<{ order_id: string }>(heldSql, [orderIds]);
      return [...new Set(rows.map((r) => r.order_id))];
    },
  };
}
