import { jetstreamManager } from '@nats-io/jetstream';
import { ConfigError } from '../platform/config';
import type { Config } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { assertMigrated, migrate, SchemaNotReadyError } from '../platform/db/migrate';
import { connectNats } from '../platform/messaging/connection';
import { consumersPulledBy } from './table';
import { ensureTopology } from '../platform/messaging/topology';
import { isNotFound } from '../platform/messaging/errors';
import { setRetentionFloor } from '../platform/db/pruning';
import { connectTemporalClient } from '../platform/temporal/client';
import { ensureSearchAttributes } from '../platform/temporal/search-attributes';
import type { ProcessIdentity } from './table';

/** How to make what a process found missing. */
export const SETUP_HINT =
  'run `shipshape setup` (or the deployment\'s one-shot "setup" service) first';

/**
 * The setup step, run once before the processes start (`shipshape run`, `shipshape setup`, the test
 * hooks, the deployment's `setup` service): database migrations as the migrator, search attributes, and streams and consumers as the NATS admin user. Idempotent.
 */
export async function prepareInfrastructure(
  config: Config,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const pool = createPool(config, 'migrator', { max: 1, applicationName: 'shipshape-setup' });
  try {
    await migrate(pool, log);
    await setRetentionFloor(pool, config.retention.minimumHours);
  } finally {
    await pool.end();
  }
  const added = await ensureSearchAttributes(config);
  if (added.length) log(`registered search attributes ${added.join(', ')}`);
  await checkNamespaceRetention(config);
  const nc = await connectNats(config, 'admin', 'shipshape-setup');
  try {
    await ensureTopology(nc, config.messaging);
  } finally {
    await nc.close();
  }
}

/**
 * The retentions are sized from SHIPSHAPE_NAMESPACE_RETENTION_HOURS, which only says what the
 * namespace keeps: a namespace that keeps closed runs longer could have one reset, and re-send its
 * commands, after the services forgot them. Refuses it, naming the setting to raise.
 */
async function checkNamespaceRetention(config: Config): Promise<void> {
  const client = await connectTemporalClient(config, 'admin');
  try {
    const { namespace } = config.temporal;
    const ns = await client.workflowService.describeNamespace({ namespace });
    const ttl = ns.config?.workflowExecutionRetentionTtl;
    const hours = Math.ceil(Number(ttl?.seconds ?? 0) / 3600);
    if (hours > config.retention.namespaceHours)
      throw new ConfigError(
        `the namespace "${namespace}" keeps closed runs ${hours} h, longer than SHIPSHAPE_NAMESPACE_RETENTION_HOURS ` +
          `(${config.retention.namespaceHours}) says: a reset could re-send commands the services have pruned; ` +
          `set it to at least ${hours} (and the retentions to at least that plus SHIPSHAPE_ORDER_LIFETIME_HOURS)`,
      );
  } finally {
    await client.connection.close();
  }
}

/**
 * What a process started on its own checks instead of setting up: the database is migrated (read
 * with its own role) and the consumers it pulls from exist. Fails naming what is missing.
 */
export async function checkInfrastructure(
  config: Config,
  identity: ProcessIdentity,
): Promise<void> {
  const pool = createPool(config, identity, { max: 1 });
  try {
    await assertMigrated(pool, SETUP_HINT);
  } finally {
    await pool.end();
  }
  const consumers = consumersPulledBy(identity);
  if (!consumers.length) return;
  const nc = await connectNats(config, identity);
  try {
    const jsm = await jetstreamManager(nc);
    for (const [stream, consumer] of consumers) {
      try {
        await jsm.consumers.info(stream, consumer);
      } catch (err) {
        if (isNotFound(err))
          throw new SchemaNotReadyError(
            `JetStream has no consumer "${consumer}" on stream "${stream}": ${SETUP_HINT}`,
          );
        throw err;
      }
    }
  } finally {
    await nc.close();
  }
}
