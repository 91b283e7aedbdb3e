import type { Consumer, ConsumerMessages } from '@nats-io/jetstream';

/**
 * Ends a read of a stream through an ordered consumer. Closing its messages alone leaves the
 * consumer on the server until its inactivity threshold (five minutes), and on a stream with interest
 * retention that consumer's interest keeps every message published meanwhile, work already done
 * included. Deleting it lets the stream drop them as soon as the services have.
 */
export async function stopReading(consumer: Consumer, messages: ConsumerMessages): Promise<void> {
  await messages.close();
  // Already gone (the server removed it): nothing is held.
  await consumer.delete().catch(() => false);
}
