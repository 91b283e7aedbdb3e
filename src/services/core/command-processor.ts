import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../../platform/db/pool';
import type { CommandEnvelope, CommandType, ReplyEnvelope } from '../../domain/types';
import { replySubject } from '../../platform/messaging/subjects';
import { PoisonMessageError } from './errors';
import { callsProvider, handlerFor, rejected } from './handler';
import { crashPoint } from '../../platform/crash-points';
import { recordReply, storedReply } from './outbox';
import { dropProviderCall, noteProviderCall } from './provider-calls';
import { ProviderRefusedError } from './provider-http';
import type { CommandHandler, ReplyBody, ServiceDefinition } from './handler';

export interface ProcessResult {
  reply: ReplyEnvelope;
  subject: string;
  /** False when the command had been handled before and the stored reply is returned again. */
  firstTime: boolean;
}

export const replyIdFor = (commandId: string): string => `reply:${commandId}`;

/**
 * Handles one command exactly once and in its order's sequence. In ONE transaction, holding a lock on
 * the order (so replicas of a service never work on one order at once): a command seen before gets its
 * stored reply back; a command older than one already applied for the order is recorded as stale and
 * not applied; otherwise the effect is made. The command id goes into the consumed-messages table and
 * the reply into the outbox in the same transaction. A command that makes an effect at a provider is
 * noted before, in a transaction of its own (provider-calls.ts), so an answer lost leaves a trace.
 */
export async function processCommand(
  pool: Pool,
  service: ServiceDefinition,
  cmd: CommandEnvelope,
): Promise<ProcessResult> {
  const schema = service.name;
  const handler = handlerFor(service, cmd);
  if (!handler) throw new PoisonMessageError(`service ${service.name} does not handle ${cmd.type}`);

  const before = await storedReply(pool, schema, cmd.commandId);
  if (before) return { ...before, firstTime: false };

  if (!callsProvider(service, cmd)) return handleOnce(pool, service, handler, cmd, false);
  await noteProviderCall(pool, schema, cmd);
  try {
    return await handleOnce(pool, service, handler, cmd, true);
  } catch (err) {
    // The provider answered that it made nothing: no compensation needs to ask it again.
    if (err instanceof ProviderRefusedError) await dropProviderCall(pool, schema, cmd.commandId);
    throw err;
  }
}

/** The one transaction that makes the command's effect and records it with its reply (and drops its note). */
function handleOnce(
  pool: Pool,
  service: ServiceDefinition,
  handler: CommandHandler<CommandType>,
  cmd: CommandEnvelope,
  noted: boolean,
): Promise<ProcessResult> {
  const schema = service.name;
  return inTransaction(pool, async (tx) => {
    const admitted = await admit(tx, schema, cmd);
    // Whatever happens next is recorded with this transaction, or it rolls back and the note stays.
    if (noted) await dropProviderCall(tx, schema, cmd.commandId);
    if (admitted.kind === 'handled') return { ...admitted.before, firstTime: false };

    let body: ReplyBody;
    let outcome: 'applied' | 'rejected' | 'stale';
    if (admitted.kind === 'stale') {
      body = rejected(
        'stale',
        `command ${cmd.seq} of this order arrived after command ${admitted.newest}; not applied`,
      );
      outcome = 'stale';
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
      `INSERT INTO ${schema}.consumed_messages (command_id, command_type, order_id, seq, outcome, reply_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [cmd.commandId, cmd.type, cmd.orderId, cmd.seq, outcome, replyId],
    );
    await recordReply(tx, schema, reply, subject);
    crashPoint('service.before-commit', service.name);
    return { reply, subject, firstTime: true };
  });
}

/**
 * Takes the order's lock for the rest of the transaction (so replicas of a service never work on one
 * order at once), then says whether the command was handled before (its stored reply), is older than
 * one already applied for the order, or is new.
 */
async function admit(
  tx: PoolClient,
  schema: ServiceDefinition['name'],
  cmd: CommandEnvelope,
): Promise<
  | { kind: 'new' }
  | { kind: 'stale'; newest: number }
  | { kind: 'handled'; before: { reply: ReplyEnvelope; subject: string } }
> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `${schema}:${cmd.orderId}`,
  ]);
  const before = await storedReply(tx, schema, cmd.commandId);
  if (before) return { kind: 'handled', before };
  const { rows } = await tx.query<{ newest: number | null }>(
    `SELECT max(seq) AS newest FROM ${schema}.consumed_messages WHERE order_id = $1`,
    [cmd.orderId],
  );
  const newest = rows[0]?.newest ?? null;
  return newest !== null && newest > cmd.seq ? { kind: 'stale', newest } : { kind: 'new' };
}
