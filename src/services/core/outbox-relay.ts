import type { JetStreamClient } from '@nats-io/jetstream';
import type { Pool } from 'pg';
import type { ReplyEnvelope } from '../../domain/types';
import { SERVICES } from '../../domain/types';
import type { Logger } from '../../platform/logger';
import type { Counter } from 'prom-client';
import { isRefusedForGood } from '../../platform/messaging/errors';
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
  /** Counts the replies the broker refuses for good, by service. */
  refusals?: Counter<'service'>;
}

/**
 * Replies the broker refuses for good (larger than its max_payload): each is logged and counted once,
 * then passed over, so that it does not hold back the replies behind it. It stays in the outbox, where
 * the workflow still finds it when it reconciles the step (lookupReply); its order's record is kept.
 */
class RefusedReplies {
  private readonly ids = new Set<string>();
  get all(): string[] {
    return [...this.ids];
  }
  add(schema: string, replyId: string, err: unknown, opts: OutboxRelayOptions): void {
    this.ids.add(replyId);
    opts.log.error(
      { err, service: schema, replyId },
      'the broker refuses this reply for good; passed over (the workflow reads it when it reconciles)',
    );
    opts.refusals?.inc({ service: schema });
  }
}

/** Publishes every outbox row still unsent after the grace period, for every service. Returns how many. */
async function relayOnce(opts: OutboxRelayOptions, refused: RefusedReplies): Promise<number> {
  let published = 0;
  for (const schema of SERVICES) {
    const { rows } = await opts.pool.query<{
      reply_id: string;
      subject: string;
      payload: ReplyEnvelope;
    }>(
      `SELECT reply_id, subject, payload FROM ${schema}.outbox
       WHERE published_at IS NULL AND created_at < now() - ($1 * interval '1 millisecond')
         AND reply_id <> ALL($3::text[])
       ORDER BY created_at LIMIT $2`,
      [opts.graceMs, opts.batch ?? 200, refused.all],
    );
    for (const row of rows) {
      crashPoint('relay.before-publish', schema);
      try {
        // Same Nats-Msg-Id as the service's own publish: if both happen, JetStream keeps one.
        await publishJson(opts.js, row.subject, row.payload, row.reply_id, {
          commandId: row.payload.commandId,
          orderId: row.payload.orderId,
        });
      } catch (err) {
        if (!isRefusedForGood(err)) throw err;
        refused.add(schema, row.reply_id, err, opts);
        continue;
      }
      await markPublished(opts.pool, schema, row.reply_id);
      published++;
    }
  }
  return published;
}

/** The recovery path for replies a crash left unsent: polls the outboxes on an interval. */
export function startOutboxRelay(opts: OutboxRelayOptions) {
  const refused = new RefusedReplies();
  return runPeriodically(
    async () => {
      const n = await relayOnce(opts, refused);
      if (n) opts.log.info({ published: n }, 'relayed outbox replies left unsent');
    },
    opts.intervalMs,
    (err) => opts.log.warn({ err }, 'outbox relay round failed; will retry'),
  );
}
