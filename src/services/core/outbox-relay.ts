import type { JetStreamClient } from '@nats-io/jetstream';
import type { Pool } from 'pg';
import type { Counter } from 'prom-client';
import type { ReplyEnvelope, ServiceName } from '../../domain/types';
import { SERVICES } from '../../domain/types';
import type { Logger } from '../../platform/logger';
import { isRefusedForGood } from '../../platform/messaging/errors';
import { publishJson } from '../../platform/messaging/publish';
import type { ProvenanceCounter } from '../../platform/metrics/registry';
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
  /** Counts outbox rows refused because they name another service's subject or reply. */
  refused?: ProvenanceCounter;
  /** Rows already refused (counted once each). */
  refusedSeen?: Set<string>;
  /** Counts the replies the broker refuses for good, by service. */
  refusals?: Counter<'service'>;
}

/** A row that is one of its service's own replies ($3: `<service>.%`), on its own reply subject. */
const OWN_REPLY = `payload->>'type' LIKE $3 AND subject = 'reply.' || (payload->>'type')`;

/** Counts and logs, once each, unsent rows of `service` that are not its own replies. */
async function noteRefusedRows(opts: OutboxRelayOptions, service: ServiceName): Promise<void> {
  const { rows } = await opts.pool.query<{ reply_id: string; subject: string; type: string }>(
    `SELECT reply_id, subject, payload->>'type' AS type FROM ${service}.outbox
     WHERE published_at IS NULL AND NOT coalesce(${OWN_REPLY.replaceAll('$3', '$1')}, false)
     LIMIT 100`,
    [`${service}.%`],
  );
  for (const row of rows) {
    if (opts.refusedSeen?.has(row.reply_id)) continue;
    opts.refusedSeen?.add(row.reply_id);
    opts.refused?.inc({ where: 'outbox-relay', service });
    opts.log.error(
      { service, replyId: row.reply_id, subject: row.subject, type: row.type },
      `outbox row refused: ${service} may publish only its own replies, on reply.${service}.*`,
    );
  }
}

/**
 * Replies the broker refuses for good (larger than its max_payload): each is logged and counted once,
 * then passed over, so that it does not hold back the replies behind it. It stays in the outbox, where
 * the workflow still finds it when it reconciles the step (lookupReply); its order's record is kept.
 */
export class OversizeReplies {
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

/**
 * Publishes every outbox row still unsent after the grace period, for every service. Returns how many.
 * A service's rows go out only on its own reply subjects (the relay may publish on every service's):
 * a row that names another subject, or a reply of another service's type, stays unsent, is counted
 * and logged, so a service cannot speak for another through its outbox.
 */
export async function relayOnce(
  opts: OutboxRelayOptions,
  oversize = new OversizeReplies(),
): Promise<number> {
  let published = 0;
  for (const schema of SERVICES) {
    await noteRefusedRows(opts, schema);
    const { rows } = await opts.pool.query<{
      reply_id: string;
      subject: string;
      payload: ReplyEnvelope;
    }>(
      `SELECT reply_id, subject, payload FROM ${schema}.outbox
       WHERE published_at IS NULL AND created_at < now() - ($1 * interval '1 millisecond')
         AND ${OWN_REPLY} AND reply_id <> ALL($4::text[])
       ORDER BY created_at LIMIT $2`,
      [opts.graceMs, opts.batch ?? 200, `${schema}.%`, oversize.all],
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
        oversize.add(schema, row.reply_id, err, opts);
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
  const oversize = new OversizeReplies();
  return runPeriodically(
    async () => {
      const n = await relayOnce(opts, oversize);
      if (n) opts.log.info({ published: n }, 'relayed outbox replies left unsent');
    },
    opts.intervalMs,
    (err) => opts.log.warn({ err }, 'outbox relay round failed; will retry'),
  );
}
