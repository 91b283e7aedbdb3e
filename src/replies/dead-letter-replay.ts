import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { z } from 'zod';
import { describeIssues, parseCommand, parseReply } from '../domain/schemas';
import { isRefusedForGood, PublishRefusedError } from '../platform/messaging/errors';
import { HDR_COMMAND_ID, HDR_ORDER_ID, subjectCarries } from '../platform/messaging/subjects';
import type { DeadLetter } from './dead-letter-store';
import { markReplayed } from './dead-letter-store';

export class ReplayError extends Error {
  override name = 'ReplayError';
}

/**
 * Re-publishes a dead letter to its original subject, with its original headers and, if given, a fixed
 * payload. A command that was in fact done already has no second effect: the service answers from its
 * consumed-messages record — for as long as it keeps it, so a dead letter older than
 * `replayableHours` (Config.retention) is not replayed. Nothing is published that its consumer would
 * only refuse again (checkReplayable).
 */
export async function replayDeadLetter(
  pool: Pool,
  js: JetStreamClient,
  dl: DeadLetter,
  opts: { fixedPayload?: string | undefined; replayableHours: number },
): Promise<{ seq: number }> {
  const ageHours = (Date.now() - dl.firstSeen.getTime()) / 3_600_000;
  if (ageHours > opts.replayableHours)
    throw new ReplayError(
      `dead letter ${dl.id} was first seen ${Math.floor(ageHours)} h ago, more than the ${opts.replayableHours} h ` +
        `the services surely remember its order for (SHIPSHAPE_COMMAND_RETENTION_HOURS - SHIPSHAPE_ORDER_LIFETIME_HOURS): ` +
        `a replay could do again what was done; it stays readable until it is pruned`,
    );
  const payload = opts.fixedPayload ?? dl.payload;
  checkReplayable(dl, payload, opts.fixedPayload !== undefined);
  const h = natsHeaders();
  for (const [k, v] of Object.entries(dl.headers)) if (k !== 'Nats-Msg-Id') h.set(k, v);
  // A fresh Nats-Msg-Id: the original may still sit in the duplicate window.
  const msgID = `${dl.headers['Nats-Msg-Id'] ?? dl.commandId ?? dl.id}#replay-${dl.id}-${Date.now()}`;
  let seq: number;
  try {
    ({ seq } = await js.publish(dl.subject, payload, { msgID, headers: h }));
  } catch (err) {
    if (!isRefusedForGood(err)) throw err;
    const refusal =
      err instanceof PublishRefusedError
        ? err
        : new PublishRefusedError(dl.subject, Buffer.byteLength(payload), err);
    throw new ReplayError(`dead letter ${dl.id} is not replayed: ${refusal.message}`, {
      cause: refusal,
    });
  }
  await markReplayed(pool, dl.id);
  return { seq };
}

/**
 * Refuses, naming what is wrong, a replay its consumer would only terminate again, or that would act
 * for another order: the dead letter must be of a command or a reply (a stored message, on its
 * subject), and the payload (the fixed one, if given) a valid one of the type its subject carries, of
 * the order and command the dead letter's headers name.
 */
function checkReplayable(dl: DeadLetter, payload: string, fixed: boolean): void {
  const which = fixed ? 'the fixed payload' : `the payload of dead letter ${dl.id}`;
  const fixIt = fixed ? '' : ': give a fixed one with --payload-file';
  if (dl.subject.startsWith('('))
    throw new ReplayError(`dead letter ${dl.id} has no stored message to replay`);
  const parse = dl.subject.startsWith('cmd.')
    ? parseCommand
    : dl.subject.startsWith('reply.')
      ? parseReply
      : undefined;
  if (!parse)
    throw new ReplayError(
      `dead letter ${dl.id} is on ${dl.subject}, not a command's or a reply's subject: nothing to replay`,
    );
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (err) {
    throw new ReplayError(`${which} is not JSON: ${(err as Error).message}${fixIt}`, {
      cause: err,
    });
  }
  let message: { type: string; orderId: string; commandId: string };
  try {
    message = parse(json);
  } catch (err) {
    if (!(err instanceof z.ZodError)) throw err;
    const issues = describeIssues(err).map((i) => `${i.field}: ${i.message}`);
    throw new ReplayError(`${which} is not a valid message: ${issues.join('; ')}${fixIt}`, {
      cause: err,
    });
  }
  if (!subjectCarries(dl.subject, message.type))
    throw new ReplayError(`${which} is a ${message.type}, which does not go on ${dl.subject}`);
  for (const [header, field, value] of [
    [HDR_ORDER_ID, 'order', message.orderId],
    [HDR_COMMAND_ID, 'command', message.commandId],
  ] as const) {
    const of = dl.headers[header];
    if (of !== undefined && of !== value)
      throw new ReplayError(`${which} is of ${field} ${value}; dead letter ${dl.id} is of ${of}`);
  }
}
