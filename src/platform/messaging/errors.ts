import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';

/**
 * What NATS and JetStream errors mean to us, read from nats.js's typed errors and JetStream's API
 * codes (nats-server's errors.json), never from message texts.
 */

/** JetStream has no such stream or consumer. */
export const isNotFound = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamNotFound ||
    err.code === JetStreamApiCodes.ConsumerNotFound);

/** JetStream API codes for a stream whose replicas the servers cannot place. */
const PLACEMENT_REFUSALS = new Set([
  10005, // no suitable peers for placement
  10023, // insufficient resources
  10074, // replicas > 1 not supported in non-clustered mode
]);

/** More replicas asked for than the servers can hold (one server holds R1 only). */
export const isReplicaPlacementRefusal = (err: unknown): boolean =>
  err instanceof JetStreamApiError && PLACEMENT_REFUSALS.has(err.code);

/** A publish the client refuses before sending, and always will: larger than max_payload, a bad subject. */
export const isRefusedForGood = (err: unknown): boolean =>
  err instanceof PublishRefusedError ||
  err instanceof errors.InvalidArgumentError ||
  err instanceof errors.InvalidSubjectError;

/** A message refused for good (isRefusedForGood), with what was sent: its subject and size. */
export class PublishRefusedError extends Error {
  override name = 'PublishRefusedError';
  constructor(
    readonly subject: string,
    readonly bytes: number,
    cause: unknown,
  ) {
    super(
      `a message of ${bytes} bytes on ${subject} is refused for good: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
}

/**
 * JetStream could not store a published message: under `discard: new` that is a stream at its byte
 * limit (nats-server answers 10077 with "maximum bytes exceeded"). Nothing was stored and nothing
 * deleted; the same publish succeeds once consumers have made room, so it is tried again.
 */
export const isStreamFull = (err: unknown): boolean =>
  err instanceof JetStreamApiError && err.code === STORE_FAILED;

const STORE_FAILED = 10077;
