import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import type { DeadLetter } from './dead-letter-store';
import { markReplayed } from './dead-letter-store';

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/**
 * Re-publishes a dead letter to its original subject, with its original headers and, if given, a fixed
 * payload. A command that was in fact done already has no second effect: the service answers from its
 * consumed-messages record — for as long as it keeps it, so a dead letter older than
 * `replayableHours` (Config.retention) is not replayed.
 */
export async function replayDeadLetter(
  pool: Pool,
  js: JetStreamClient,
  dl: DeadLetter,
  opts: { fixedPayload?: string | undefined; replayableHours: number },
): Promise<{ seq: number }> {
  const { fixedPayload } = opts;
  if (dl.subject.startsWith('('))
    throw new ReplayError(`dead letter ${dl.id} has no stored message to replay`);
  const ageHours = (Date.now() - dl.firstSeen.getTime()) / 3_600_000;
  if (ageHours > opts.replayableHours)
    throw new ReplayError(
      `dead letter ${dl.id} was first seen ${Math.floor(ageHours)} h ago, more than the ${opts.replayableHours} h ` +
        `the services surely remember its order for (SHIPSHAPE_COMMAND_RETENTION_HOURS - SHIPSHAPE_ORDER_LIFETIME_HOURS): ` +
        `a replay could do again what was done; it stays readable until it is pruned`,
    );
  const payload = fixedPayload ?? dl.payload;
  if (fixedPayload !== undefined) {
    try {
      JSON.parse(fixedPayload);
    } catch (err) {
      throw new ReplayError(`the fixed payload is not JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const h = natsHeaders();
  for (const [k, v] of Object.entries(dl.headers)) if (k !== 'Nats-Msg-Id') h.set(k, v);
  // A fresh Nats-Msg-Id: the original may still sit in the duplicate window.
  const msgID = `${dl.headers['Nats-Msg-Id'] ?? dl.commandId ?? dl.id}#replay-${dl.id}-${Date.now()}`;
  const ack = await js.publish(dl.subject, payload, { msgID, headers: h });
  await markReplayed(pool, dl.id);
  return { seq: ack.seq };
}
