import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection };

/** Connects and keeps reconnecting for ever: a broker restart must pause work, never end a process. */
export async function connectNats(servers: string[], name: string): Promise<NatsConnection> {
  return connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    timeout: 5000,
  });
}
