import pg from 'pg';

export type { Pool, PoolClient } from 'pg';

// bigint columns hold cents; they fit in a JS number, so read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function createPool(url: string, max = 10, applicationName = 'shipshape'): pg.Pool {
  return new pg.Pool({ connectionString: url, max, application_name: applicationName });
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
