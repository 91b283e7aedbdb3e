import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Pool } from 'pg';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '../platform/logger';
import {
  ADVISORY_STREAM,
  COMMAND_STREAM,
  DEAD_LETTER_CONSUMER,
  HDR_COMMAND_ID,
  HDR_ORDER_ID,
  trailOf,
} from '../platform/messaging/subjects';
import { redeliveryDelayMs } from '../platform/messaging/keyed-consumer';
import { deadLetterSignal, workflowIdFor } from '../../workflows/definitions';
import { recordDeadLetter } from './dead-letter-store';

/** Deliveries of an advisory whose message the trail has not copied yet, before it is recorded without. */
const TRAIL_RETRIES = 10;

/** The fields of JetStream's MAX_DELIVERIES and MSG_TERMINATED advisories that we use. */
interface Advisory {
  type: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
  reason?: string;
}

/** An advisory the watcher can act on, or undefined for anything else published to the stream. */
function parseAdvisory(m: JsMsg): Advisory | undefined {
  let a: Partial<Advisory> | null;
  try {
    a = m.json<Partial<Advisory> | null>();
  } catch {
    return undefined;
  }
  const ok =
    a !== null &&
    typeof a === 'object' &&
    typeof a.type === 'string' &&
    typeof a.stream === 'string' &&
    typeof a.consumer === 'string' &&
    Number.isInteger(a.stream_seq) &&
    Number.isInteger(a.deliveries);
  return ok ? (a as Advisory) : undefined;
}

/**
 * Turns JetStream's dead-letter advisories into rows of `dead_letters`: reads the message back from its
 * stream's trail by sequence, records it with its owning order, and tells that order's workflow, so it does not
 * wait for a reply that will never come.
 */
export async function startDeadLetterWatcher(opts: {
  nc: NatsConnection;
  pool: Pool;
  temporal: Client;
  log: Logger;
  /** Where to count the dead letters recorded: every message a consumer refused or gave up on. */
  registry?: Registry;
}) {
  const { nc, pool, temporal, log } = opts;
  const recorded = opts.registry
    ? new Counter({
        name: 'shipshape_dead_letters_total',
        help: 'Dead letters recorded, by stream and cause (terminated, max_deliveries, unreadable_advisory)',
        labelNames: ['stream', 'cause'] as const,
        registers: [opts.registry],
      })
    : undefined;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const consumer = await js.consumers.get(ADVISORY_STREAM, DEAD_LETTER_CONSUMER);
  const messages = await consumer.consume({ max_messages: 32 });

  /**
   * The dead-lettered message, from its stream's trail: a terminated message has already left the
   * work stream. The trail copies asynchronously, so a sequence it has not reached yet is worth a
   * retry, as is a failed read; after TRAIL_RETRIES deliveries the dead letter is recorded without it.
   * A sequence the trail has passed and no longer holds is gone (older than the trail keeps).
   */
  const readBack = async (advisory: Advisory, delivery: number) => {
    const trail = trailOf(advisory.stream);
    try {
      const stored = await jsm.streams.getMessage(trail, { seq: advisory.stream_seq });
      if (stored) return stored;
      const { state } = await jsm.streams.info(trail);
      if (state.last_seq < advisory.stream_seq)
        throw new Error(
          `${trail} has copied up to ${state.last_seq}, not yet ${advisory.stream_seq}`,
        );
      return null;
    } catch (err) {
      if (delivery < TRAIL_RETRIES) throw err;
      log.warn({ err, advisory }, 'dead-lettered message could not be read back');
      return null;
    }
  };

  const handle = async (advisory: Advisory, delivery: number): Promise<void> => {
    let subject = '(no longer in the stream)';
    let payload = '';
    const headers: Record<string, string> = {};
    const stored = await readBack(advisory, delivery);
    if (stored) {
      subject = stored.subject;
      payload = stored.string();
      for (const [k, v] of stored.header ?? []) headers[k] = v.join(', ');
    }
    const maxed = advisory.type.includes('max_deliver');
    const error = maxed
      ? `no ack after ${advisory.deliveries} deliveries (max deliveries reached)`
      : `terminated: ${advisory.reason || 'no reason given'}`;
    const commandId = headers[HDR_COMMAND_ID] ?? null;
    const orderId = headers[HDR_ORDER_ID] ?? null;
    const row = await recordDeadLetter(pool, {
      stream: advisory.stream,
      streamSeq: advisory.stream_seq,
      consumer: advisory.consumer,
      subject,
      headers,
      payload,
      error,
      deliveryCount: advisory.deliveries,
      orderId,
      commandId,
    });
    log.warn({ deadLetterId: row.id, orderId, commandId, subject, error }, 'dead letter recorded');
    recorded?.inc({ stream: advisory.stream, cause: maxed ? 'max_deliveries' : 'terminated' });
    if (advisory.stream === COMMAND_STREAM && commandId && orderId) {
      try {
        await temporal.workflow
          .getHandle(workflowIdFor(orderId))
          .signal(deadLetterSignal, { commandId, reason: error, deadLetterId: row.id });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
  };

  const recordUnreadable = async (m: JsMsg): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of m.headers ?? []) headers[k] = v.join(', ');
    const row = await recordDeadLetter(pool, {
      stream: ADVISORY_STREAM,
      streamSeq: m.seq,
      consumer: DEAD_LETTER_CONSUMER,
      subject: m.subject,
      headers,
      payload: m.string(),
      error: 'not a dead-letter advisory: unreadable or missing fields',
      deliveryCount: m.info.deliveryCount,
      orderId: null,
      commandId: null,
    });
    log.error(
      { deadLetterId: row.id, subject: m.subject },
      'unreadable advisory recorded as a dead letter',
    );
    recorded?.inc({ stream: ADVISORY_STREAM, cause: 'unreadable_advisory' });
  };

  const done = (async () => {
    for await (const m of messages) {
      try {
        const advisory = parseAdvisory(m);
        // Something that is no advisory would fail on every redelivery (this consumer never gives up):
        // it becomes a dead letter of the advisory stream itself, for an operator to see.
        if (advisory) await handle(advisory, m.info.deliveryCount);
        else await recordUnreadable(m);
        await m.ackAck();
      } catch (err) {
        log.error({ err }, 'dead letter not recorded; will retry');
        m.nak(redeliveryDelayMs(m.info.deliveryCount));
      }
    }
  })();

  return {
    async stop() {
      await messages.close();
      await done;
    },
  };
}
