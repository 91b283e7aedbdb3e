import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../../platform/db/pool';
import { undoAtService } from '../../domain/compensations';
import type { CommandEnvelope, CommandType, ReplyEnvelope } from '../../domain/types';
import { replySubject } from '../../platform/messaging/subjects';
import { CommandFencedError, PoisonMessageError } from './errors';
import { callsProvider, handlerFor, rejected } from './handler';
import { crashPoint } from '../../platform/crash-points';
import { handledCommand, recordReply } from './outbox';
import type { HandledCommand } from './outbox';
import { dropProviderCall, noteProviderCall } from './provider-calls';
import { ProviderRefusedError } from './provider-http';
import { claimOrder, recordFenced } from './run-claims';
import type { CommandHandler, ReplyBody, ServiceDefinition } from './handler';

export interface ProcessResult {
  reply: ReplyEnvelope;
  subject: string;
  /** False when the command had been handled before and its reply is given again. */
  firstTime: boolean;
  /**
   * The reply's Nats-Msg-Id. The first answer's is its reply id (the outbox relay publishes the same
   * one); an answer given again has one per send that asked, so JetStream does not drop it as a
   * duplicate of the first: a reset run re-sends its commands and must hear back at once.
   */
  msgId: string;
}

export const replyIdFor = (commandId: string): string => `reply:${commandId}`;

/**
 * Handles one command exactly once and in its order's sequence. In ONE transaction, holding a lock on
 * the order (so replicas of a service never work on one order at once): a command from a run that
 * another run replaced is fenced (run-claims.ts); a command seen before gets its reply again, as the
 * effect stands now; a command older than one its run already applied for the order is recorded as
 * stale and not applied; a forward command for an order whose effect here was undone is refused
 * (an order undone is never redone); otherwise the effect is made. The command id goes into the
 * consumed-messages table and the reply into the outbox in the same transaction. A command that
 * makes an effect at a provider is noted before, in a statement of its own (provider-calls.ts), so an
 * answer lost leaves a trace. Throws CommandFencedError for a fenced command, once it is recorded.
 */
export async function processCommand(
  pool: Pool,
  service: ServiceDefinition,
  cmd: CommandEnvelope,
): Promise<ProcessResult> {
  const schema = service.name;
  const handler = handlerFor(service, cmd);
  if (!handler) throw new PoisonMessageError(`service ${service.name} does not handle ${cmd.type}`);

  // Asked again by the run that sent it first: its stored reply, without taking the order's lock.
  const before = await handledCommand(pool, schema, cmd.commandId);
  if (before && sentBySameRun(before, cmd)) return answerAgain(before, cmd);

  if (before || !callsProvider(service, cmd)) return handleOnce(pool, service, handler, cmd, false);
  await noteProviderCall(pool, schema, cmd);
  try {
    return await handleOnce(pool, service, handler, cmd, true);
  } catch (err) {
    // The provider answered that it made nothing: no compensation needs to ask it again.
    if (err instanceof ProviderRefusedError) await dropProviderCall(pool, schema, cmd.commandId);
    throw err;
  }
}

const sentBySameRun = (before: HandledCommand, cmd: CommandEnvelope): boolean =>
  !cmd.sentBy || before.runId === null || before.runId === cmd.sentBy.runId;

/** A stored reply given again, to the send that asked (its activity), under a Nats-Msg-Id of its own. */
function answerAgain(
  before: { reply: ReplyEnvelope; subject: string },
  cmd: CommandEnvelope,
): ProcessResult {
  const reply = { ...before.reply, ...(cmd.replyTo ? { replyTo: cmd.replyTo } : {}) };
  const asker = cmd.sentBy ? `${cmd.sentBy.runId}:${cmd.replyTo ?? cmd.sentBy.at}` : undefined;
  return {
    reply,
    subject: before.subject,
    firstTime: false,
    msgId: asker ? `${reply.replyId}@${asker}` : reply.replyId,
  };
}

/** The one transaction that makes the command's effect and records it with its reply (and drops its note). */
async function handleOnce(
  pool: Pool,
  service: ServiceDefinition,
  handler: CommandHandler<CommandType>,
  cmd: CommandEnvelope,
  noted: boolean,
): Promise<ProcessResult> {
  const schema = service.name;
  const result = await inTransaction(pool, async (tx) => {
    await lockOrder(tx, schema, cmd.orderId);
    const claim = await claimOrder(tx, schema, cmd);
    // Whatever happens next is recorded with this transaction, or it rolls back and the note stays.
    if (noted) await dropProviderCall(tx, schema, cmd.commandId);
    if (claim.kind === 'fenced') {
      await recordFenced(tx, schema, cmd, claim.claimant);
      return claim;
    }
    const admitted = await admit(tx, schema, cmd);
    if (admitted.kind === 'handled')
      return answerAgain(await asItStands(tx, schema, cmd, admitted.before), cmd);

    let body: ReplyBody;
    let outcome: 'applied' | 'rejected' | 'stale';
    if (admitted.kind === 'stale') {
      body = rejected(
        'stale',
        `command ${cmd.seq} of this order arrived after command ${admitted.newest}; not applied`,
      );
      outcome = 'stale';
    } else if (admitted.kind === 'undone') {
      body = undoneBody(admitted.by);
      outcome = 'rejected';
    } else {
      body = await handler(tx, cmd);
      outcome = body.outcome === 'succeeded' ? 'applied' : 'rejected';
    }

    const replyId = replyIdFor(cmd.commandId);
    const subject = replySubject(cmd.type);
    const reply: ReplyEnvelope = {
      replyId,
      commandId: cmd.commandId,
      type: cmd.type,
      orderId: cmd.orderId,
      workflowId: cmd.workflowId,
      ...body,
      ...(cmd.replyTo ? { replyTo: cmd.replyTo } : {}),
    };
    await tx.query(
      `INSERT INTO ${schema}.consumed_messages (command_id, command_type, order_id, seq, outcome, reply_id, run_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [cmd.commandId, cmd.type, cmd.orderId, cmd.seq, outcome, replyId, cmd.sentBy?.runId ?? null],
    );
    await recordReply(tx, schema, reply, subject);
    crashPoint('service.before-commit', service.name);
    return { reply, subject, firstTime: true, msgId: replyId };
  });
  if ('kind' in result) throw new CommandFencedError(cmd, result.claimant);
  return result;
}

/** The order's lock, for the rest of the transaction: replicas of a service never work on one order at once. */
async function lockOrder(tx: PoolClient, schema: string, orderId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${schema}:${orderId}`]);
}

const undoneBody = (by: string): ReplyBody =>
  rejected(
    'undone',
    `this order's effect here was undone by ${by}; an order undone is not done again: place it again`,
  );

/**
 * Says whether the command was handled before (its stored reply), is older than one its run already
 * applied for the order, is a forward command for an order whose effect here was undone, or is new.
 */
async function admit(
  tx: PoolClient,
  schema: ServiceDefinition['name'],
  cmd: CommandEnvelope,
): Promise<
  | { kind: 'new' }
  | { kind: 'stale'; newest: number }
  | { kind: 'undone'; by: string }
  | { kind: 'handled'; before: HandledCommand }
> {
  const before = await handledCommand(tx, schema, cmd.commandId);
  if (before) return { kind: 'handled', before };
  const { rows } = await tx.query<{ newest: number | null; undone_by: string | null }>(
    `SELECT (SELECT max(seq) FROM ${schema}.consumed_messages
              WHERE order_id = $1 AND run_id IS NOT DISTINCT FROM $2) AS newest,
            (SELECT command_id FROM ${schema}.consumed_messages
              WHERE order_id = $1 AND command_type = $3 AND outcome = 'applied' LIMIT 1) AS undone_by`,
    [cmd.orderId, cmd.sentBy?.runId ?? null, undoAtService(cmd.type) ?? null],
  );
  const newest = rows[0]?.newest ?? null;
  if (newest !== null && newest > cmd.seq) return { kind: 'stale', newest };
  const undoneBy = rows[0]?.undone_by;
  return undoneBy ? { kind: 'undone', by: undoneBy } : { kind: 'new' };
}

/**
 * A stored reply as the effect stands now, for a run other than the one that sent the command first
 * (a reset run): a success whose effect was undone since is no success to build on.
 */
async function asItStands(
  tx: PoolClient,
  schema: ServiceDefinition['name'],
  cmd: CommandEnvelope,
  before: HandledCommand,
): Promise<HandledCommand> {
  const undo = undoAtService(cmd.type);
  if (!undo || before.reply.outcome !== 'succeeded') return before;
  const { rows } = await tx.query<{ command_id: string }>(
    `SELECT command_id FROM ${schema}.consumed_messages
     WHERE order_id = $1 AND command_type = $2 AND outcome = 'applied' LIMIT 1`,
    [cmd.orderId, undo],
  );
  const by = rows[0]?.command_id;
  if (!by) return before;
  // What the effect produced is no longer there: the answer says only that it was undone.
  const reply: ReplyEnvelope = { ...before.reply, ...undoneBody(by) };
  delete reply.result;
  return { ...before, reply };
}
