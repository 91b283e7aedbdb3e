import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config';
import { natsOptionsFor } from '../security/identity';
import type { NatsIdentity } from '../security/identity';

export type { NatsConnection };

/**
 * Connects as `identity` (its own user, permissions and inbox prefix) and keeps reconnecting for
 * ever: a broker restart must pause work, never end a process. `name` tells connections apart in the
 * server's monitoring; it defaults to the identity.
 */
export async function connectNats(
  config: Config,
  identity: NatsIdentity,
  name?: string,
): Promise<NatsConnection> {
  const opts = natsOptionsFor(config, identity);
  return connect({
    ...opts,
    ...(name ? { name } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    timeout: 5000,
  });
}
