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
}

const DAY_NS = nanos(24 * 60 * 60 * 1000);

function streamConfig(
  name: string,
  subjects: string[],
  s: TopologySettings,
): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects,
    storage: StorageType.File,
    // Limits retention keeps messages after they are acked, so a dead letter can be read back by sequence.
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 7 * DAY_NS,
    duplicate_window: nanos(s.duplicateWindowMs),
    num_replicas: s.replicas ?? 1,
    // Direct gets let the backlog metrics read the oldest pending message's time cheaply.
    allow_direct: true,
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

async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<void> {
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
  await ensureStream(jsm, streamConfig(COMMAND_STREAM, ['cmd.>'], s));
  await ensureStream(jsm, streamConfig(REPLY_STREAM, ['reply.>'], s));
  for (const service of SERVICES) {
    await ensureConsumer(
      jsm,
      COMMAND_STREAM,
      consumerConfig(serviceConsumerName(service), serviceCommandFilter(service), s),
    );
  }
  await ensureConsumer(jsm, REPLY_STREAM, consumerConfig(REPLY_BRIDGE_CONSUMER, undefined, s));
  await ensureStream(jsm, {
    ...streamConfig(ADVISORY_STREAM, deadLetterAdvisorySubjects([COMMAND_STREAM, REPLY_STREAM]), s),
    max_age: 30 * DAY_NS,
  });
  // Recording a dead letter is idempotent, so this consumer may redeliver freely; it never gives up.
  await ensureConsumer(jsm, ADVISORY_STREAM, {
    ...consumerConfig(DEAD_LETTER_CONSUMER, undefined, s),
    max_deliver: -1,
  });
}
