import pg from 'pg';
import type { Config } from '../config';
import { databaseUrlFor } from '../security/identity';
import type { DatabaseIdentity } from '../security/identity';

export type { Pool, PoolClient } from 'pg';

// bigint columns hold cents; they fit in a JS number, so read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolOptions {
  max?: number;
  /** Connections kept open while idle (the rest close after 10 s idle). */
  min?: number;
  /** Shown in pg_stat_activity; defaults to `shipshape-<identity>`. */
  applicationName?: string;
}

/**
 * A pool connected as `identity` (its own role and rights). Every session gets the configured
 * statement and idle-in-transaction timeouts, so a runaway query or a transaction left open by a
 * stuck process cannot hold locks for ever.
 */
export function createPool(
  config: Config,
  identity: DatabaseIdentity,
  opts: PoolOptions = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrlFor(config, identity),
    max: opts.max ?? 10,
    min: opts.min ?? 0,
    application_name: opts.applicationName ?? `shipshape-${identity}`,
    statement_timeout: config.database.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.database.idleInTransactionTimeoutMs,
  });
  // An idle connection the server ended (a PostgreSQL restart) is dropped by the pool and the next
  // query opens a new one; without a listener the 'error' event would end the whole process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Opens `n` connections now, before they are needed: each login is a password exchange that costs
 * both sides CPU, better paid at start than by the first orders of a peak.
 */
export async function openConnections(pool: pg.Pool, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
  for (const c of clients) c.release();
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A connection that dies between two queries (a PostgreSQL restart) emits 'error' on the checked-out
  // client, which would end the process; the next query fails instead, and the client is discarded.
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
