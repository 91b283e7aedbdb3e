import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { Config } from '../platform/config';
import { createPool } from '../platform/db/pool';
import type { DatabaseIdentity } from '../platform/db/roles';
import { connectNats } from '../platform/messaging/connection';
import { serveMetrics } from '../platform/metrics/registry';
import type { NatsIdentity } from '../platform/security/identity';
import { connectTemporalClient } from '../platform/temporal/client';
import type { TemporalClientProcess } from './table';

/** A started part of the app; `stop` awaits every close. */
export interface Component {
  stop(): Promise<void>;
}

/**
 * What a process opens — pools, connections, servers, consumers — kept so that `close` shuts them in
 * the reverse order: a consumer stops before the connection it pulls through, and that before the pool
 * its handlers write with.
 */
export class Resources {
  private readonly closers: (() => Promise<unknown>)[] = [];

  constructor(private readonly config: Config) {}

  /** Keeps `resource`, to be closed with `close` when the process stops; returns it. */
  add<T>(resource: T, close: (r: T) => unknown): T {
    this.closers.push(async () => close(resource));
    return resource;
  }

  pool(identity: DatabaseIdentity, opts: Parameters<typeof createPool>[2] = {}): Pool {
    return this.add(createPool(this.config, identity, opts), (p) => p.end());
  }

  async nats(identity: NatsIdentity): Promise<NatsConnection> {
    return this.add(await connectNats(this.config, identity), (nc) => nc.drain());
  }

  async temporalClient(identity: TemporalClientProcess): Promise<Client> {
    return this.add(await connectTemporalClient(this.config, identity), (c) =>
      c.connection.close(),
    );
  }

  /** GET /metrics on the process's own port, when METRICS_PORT is set. */
  async metrics(registry: Registry): Promise<void> {
    if (!this.config.metricsPort) return;
    this.add(await serveMetrics(registry, this.config.metricsPort, this.config.api.host), (m) =>
      m.close(),
    );
  }

  /** Closes everything, newest first; every close is tried, the first failure is thrown after. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length) throw new Error('closing failed', { cause: failures[0] });
  }

  /**
   * Starts a process's parts with `build`: what it returns, plus a `stop` that closes every part. A
   * start that fails closes what it had opened before the error goes on.
   */
  static async open<T extends object>(
    config: Config,
    build: (r: Resources) => Promise<T>,
  ): Promise<T & Component> {
    const r = new Resources(config);
    try {
      const started = await build(r);
      return { ...started, stop: () => r.close() };
    } catch (err) {
      await r.close().catch(() => undefined);
      throw err;
    }
  }
}
