import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { SERVICES } from '../../domain/types';
import {
  ADVISORY_STREAM,
  COMMAND_STREAM,
  DEAD_LETTER_CONSUMER,
  deadLetterAdvisorySubjects,
  REPLY_BRIDGE_CONSUMER,
  REPLY_STREAM,
  serviceCommandFilter,
  serviceConsumerName,
  trailOf,
} from './subjects';
import { isNotFound, isReplicaPlacementRefusal } from './errors';

export interface TopologySettings {
  duplicateWindowMs: number;
  ackWaitMs: number;
  maxDeliver: number;
  /** How many unacknowledged messages one consumer may hold: the bound on in-flight work. */
  maxAckPending?: number;
  /**
   * Copies of each stream on a cluster (SHIPSHAPE_STREAM_REPLICAS): 3 survives the loss of a node.
   * Consumers leave theirs unset, so they follow their stream.
   */
  replicas?: number;
  /** The most bytes each stream holds (SHIPSHAPE_STREAM_MAX_BYTES). */
  maxBytes: number;
}

const DAY_NS = nanos(24 * 60 * 60 * 1000);

/** How long a trail keeps its copies: long enough to read back a dead letter found late. */
export const TRAIL_MAX_AGE_DAYS = 7;

type StreamSettings = Partial<StreamConfig> & { name: string };

/**
 * A stream that holds work: commands, replies, dead-letter advisories. Under interest retention a
 * message leaves once every consumer it is for has acknowledged it (a terminated one included), so
 * what the stream holds is work still to do, and its byte limit bounds the backlog. A full stream
 * refuses a publish (`discard: new`), which the publisher tries again; with no age limit either,
 * nothing waiting for its consumer is ever deleted. One exception stays: a message that ran out of
 * deliveries is kept for its consumer (JetStream does so under interest retention) and counts against
 * the limit until an operator removes it (docs/failures.md).
 */
export function workStreamConfig(
  name: string,
  subjects: string[],
  s: TopologySettings,
): StreamSettings {
  return {
    name,
    subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Interest,
    discard: DiscardPolicy.New,
    max_bytes: s.maxBytes,
    max_age: 0,
    duplicate_window: nanos(s.duplicateWindowMs),
    num_replicas: s.replicas ?? 1,
    // Direct gets let the backlog metrics read the oldest pending message's time cheaply.
    allow_direct: true,
  };
}

/**
 * The trail of a work stream (trailOf): a mirror, with the same sequence numbers, that keeps every
 * message for TRAIL_MAX_AGE_DAYS after the work stream let it go, so the dead-letter watcher can read a
 * terminated message back by its sequence. Full, it drops its oldest copies (`discard: old`): it holds
 * copies only, never the last one of something still to do.
 */
function trailStreamConfig(origin: string, s: TopologySettings): StreamSettings {
  return {
    name: trailOf(origin),
    mirror: { name: origin },
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_bytes: s.maxBytes,
    max_age: TRAIL_MAX_AGE_DAYS * DAY_NS,
    num_replicas: s.replicas ?? 1,
  };
}

function consumerConfig(
  name: string,
  filter: string | undefined,
  s: TopologySettings,
): Partial<ConsumerConfig> {
  return {
    durable_name: name,
    ...(filter ? { filter_subject: filter } : {}),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: s.maxDeliver,
    max_ack_pending: s.maxAckPending ?? 512,
  };
}

async function ensureStream(jsm: JetStreamManager, cfg: StreamSettings): Promise<void> {
  const name = cfg.name;
  try {
    try {
      await jsm.streams.info(name);
      await jsm.streams.update(name, cfg);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(cfg);
    }
  } catch (err) {
    // The usual cause: more replicas asked for than the servers can hold (one server holds R1 only).
    if ((cfg.num_replicas ?? 1) > 1 && isReplicaPlacementRefusal(err))
      throw new Error(
        `stream ${name} with ${cfg.num_replicas} replicas: ${(err as Error).message} ` +
          `(SHIPSHAPE_STREAM_REPLICAS needs a JetStream cluster of at least that many servers)`,
        { cause: err },
      );
    throw err;
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  cfg: Partial<ConsumerConfig>,
): Promise<void> {
  const name = cfg.durable_name!;
  try {
    await jsm.consumers.info(stream, name);
    await jsm.consumers.update(stream, name, cfg);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, cfg);
  }
}

/** Creates or updates every stream and durable consumer the app uses. Safe to run at every start. */
export async function ensureTopology(nc: NatsConnection, s: TopologySettings): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const [stream, subjects] of [
    [COMMAND_STREAM, ['cmd.>']],
    [REPLY_STREAM, ['reply.>']],
  ] as const) {
    await ensureStream(jsm, workStreamConfig(stream, [...subjects], s));
    await ensureStream(jsm, trailStreamConfig(stream, s));
  }
  for (const service of SERVICES) {
    await ensureConsumer(
      jsm,
      COMMAND_STREAM,
      consumerConfig(serviceConsumerName(service), serviceCommandFilter(service), s),
    );
  }
  await ensureConsumer(jsm, REPLY_STREAM, consumerConfig(REPLY_BRIDGE_CONSUMER, undefined, s));
  await ensureStream(
    jsm,
    workStreamConfig(
      ADVISORY_STREAM,
      deadLetterAdvisorySubjects([COMMAND_STREAM, REPLY_STREAM]),
      s,
    ),
  );
  // Recording a dead letter is idempotent, so this consumer may redeliver freely; it never gives up.
  await ensureConsumer(jsm, ADVISORY_STREAM, {
    ...consumerConfig(DEAD_LETTER_CONSUMER, undefined, s),
    max_deliver: -1,
  });
}

/** Every stream the app keeps, work streams and trails: what the stream metrics report. */
export const ALL_STREAMS: readonly string[] = [
  COMMAND_STREAM,
  trailOf(COMMAND_STREAM),
  REPLY_STREAM,
  trailOf(REPLY_STREAM),
  ADVISORY_STREAM,
];
