import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../src/platform/config';
import { SERVICES } from '../../src/domain/types';
import { COMMAND_STREAM, REPLY_STREAM } from '../../src/platform/messaging/subjects';
import { OUTBOX_STREAM } from './outbox-choreography';
import type { Pool } from '../../src/platform/db/pool';
import { connectTemporalClient } from '../../src/platform/temporal/client';

/** Every table an order leaves rows in; the bench stack holds nothing but benchmark orders. */
const TABLES = [
  'app.orders',
  'app.dead_letters',
  'inventory.reservations',
  'payment.charges',
  'loyalty.ledger',
  'shipping.shipments',
  'payment.provider_calls',
  'shipping.provider_calls',
  'bench.outbox',
  ...SERVICES.flatMap((s) => [`${s}.consumed_messages`, `${s}.outbox`]),
];

/**
 * Starts each run on an empty bench stack: earlier runs' workflows still running are terminated,
 * their messages purged and the order tables emptied. Otherwise Shipshape's reconciler would find
 * the baselines' charges and shipments (made without a workflow) and compensate them as orphans, and
 * old workflows would compete with this run's.
 */
export async function clearLeftovers(
  config: Config,
  pool: Pool,
  nc: NatsConnection,
): Promise<{ workflows: number }> {
  const client = await connectTemporalClient(config, 'cli');
  let workflows = 0;
  try {
    for await (const wf of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .terminate('left running by an earlier benchmark run')
        .catch(() => undefined);
      workflows++;
    }
  } finally {
    await client.connection.close();
  }
  const jsm = await jetstreamManager(nc);
  for (const stream of [COMMAND_STREAM, REPLY_STREAM, OUTBOX_STREAM])
    await jsm.streams.purge(stream);
  await pool.query(`TRUNCATE ${TABLES.join(', ')}`);
  return { workflows };
}
