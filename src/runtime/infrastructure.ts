import type { Config } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { connectNats } from '../messaging/connection';
import { ensureTopology } from '../messaging/topology';
import { ensureSearchAttributes } from '../temporal/search-attributes';

/** Applies database migrations, registers search attributes, and creates streams and consumers. Idempotent; every process may call it. */
export async function prepareInfrastructure(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const pool = createPool(config.database.url, 1, 'shipshape-migrate');
  try {
    await migrate(pool, log);
  } finally {
    await pool.end();
  }
  const added = await ensureSearchAttributes(config);
  if (added.length) log(`registered search attributes ${added.join(', ')}`);
  const nc = await connectNats(config.nats.servers, 'shipshape-setup');
  try {
    await ensureTopology(nc, config.messaging);
  } finally {
    await nc.close();
  }
}
