import type { JetStreamClient } from '@nats-io/jetstream';
import type { Pool } from 'pg';
import type { ReplyEnvelope } from '../../domain/types';
import { SERVICES } from '../../domain/types';
import type { Logger } from '../../platform/logger';
import { publishJson } from '../../platform/messaging/publish';
import { markPublished } from './outbox';
import { runPeriodically } from '../../platform/periodic';
import { crashPoint } from '../../platform/crash-points';

export interface OutboxRelayOptions {
  pool: Pool;
  js: JetStreamClient;
  log: Logger;
  intervalMs: number;
  /** Rows younger than this are left to the service that wrote them, which publishes them itself. */
  graceMs: number;
  batch?: number;
}

/** Publishes every outbox row still unsent after the grace period, for every service. Returns how many. */
export async function relayOnce(opts: OutboxRelayOptions): Promise<number> {
  let published = 0;
  for (const schema of SERVICES) {
    const { rows } = await opts.pool.query<{
      reply_id: string;
      subject: string;
      payload: ReplyEnvelope;
    }>(
      `SELECT reply_id, subject, payload FROM ${schema}.outbox
       WHERE published_at IS NULL AND created_at < now() - ($1 * interval '1 millisecond')
       ORDER BY created_at LIMIT $2`,
      [opts.graceMs, opts.batch ?? 200],
    );
    for (const row of rows) {
      crashPoint('relay.before-publish', schema);
      // Same Nats-Msg-Id as the service's own publish: if both happen, JetStream keeps one.
      await publishJson(opts.js, row.subject, row.payload, row.reply_id, {
        commandId: row.payload.commandId,
        orderId: row.payload.orderId,
      });
      await markPublished(opts.pool, schema, row.reply_id);
      published++;
    }
  }
  return published;
}

/** The recovery path for replies a crash left unsent: polls the outboxes on an interval. */
export function startOutboxRelay(opts: OutboxRelayOptions) {
  return runPeriodically(
    async () => {
      const n = await relayOnce(opts);
      if (n) opts.log.info({ published: n }, 'relayed outbox replies left unsent');
    },
    opts.intervalMs,
    (err) => opts.log.warn({ err }, 'outbox relay round failed; will retry'),
  );
}
