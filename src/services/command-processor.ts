import type { Pool } from 'pg';
import { inTransaction } from '../db/pool';
import type { CommandEnvelope, ReplyEnvelope } from '../domain/types';
import { replySubject } from '../messaging/subjects';
import { PoisonMessageError } from './errors';
import type { ServiceDefinition } from './handler';

export interface ProcessResult {
  reply: ReplyEnvelope;
  subject: string;
  /** False when the command had been handled before and the stored reply is returned again. */
  firstTime: boolean;
}

export const replyIdFor = (commandId: string): string => `reply:${commandId}`;

async function storedReply(
  pool: Pool,
  schema: string,
  commandId: string,
): Promise<ProcessResult | undefined> {
  const { rows } = await pool.query<{ subject: string; payload: ReplyEnvelope }>(
    `SELECT subject, payload FROM ${schema}.outbox WHERE command_id = $1`,
    [commandId],
  );
  const row = rows[0];
  return row ? { reply: row.payload, subject: row.subject, firstTime: false } : undefined;
}

/**
 * Handles one command exactly once. In ONE transaction: record the command id in the consumed-messages
 * table (a conflict means "already done"), make the effect, write the reply to the outbox. A command seen
 * before gets its stored reply back and has no second effect.
 */
export async function processCommand(
  pool: Pool,
  service: ServiceDefinition,
  cmd: CommandEnvelope,
): Promise<ProcessResult> {
  const schema = service.name;
  const handler = service.handlers[cmd.type];
  if (!handler) throw new PoisonMessageError(`service ${service.name} does not handle ${cmd.type}`);

  const before = await storedReply(pool, schema, cmd.commandId);
  if (before) return before;

  const prepared: unknown = handler.prepare ? await handler.prepare(cmd) : undefined;
  const replyId = replyIdFor(cmd.commandId);
  const subject = replySubject(cmd.type);

  const fresh = await inTransaction(pool, async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO ${schema}.consumed_messages (command_id, command_type, order_id, seq, reply_id)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (command_id) DO NOTHING RETURNING command_id`,
      [cmd.commandId, cmd.type, cmd.orderId, cmd.seq, replyId],
    );
    if (!inserted.rowCount) return undefined; // a concurrent delivery won the race
    const body = await handler.apply(tx, cmd, prepared);
    const reply: ReplyEnvelope = {
      replyId,
      commandId: cmd.commandId,
      type: cmd.type,
      orderId: cmd.orderId,
      workflowId: cmd.workflowId,
      ...body,
    };
    await tx.query(
      `INSERT INTO ${schema}.outbox (reply_id, command_id, subject, payload) VALUES ($1, $2, $3, $4)`,
      [replyId, cmd.commandId, subject, JSON.stringify(reply)],
    );
    return reply;
  });
  if (fresh) return { reply: fresh, subject, firstTime: true };
  const raced = await storedReply(pool, schema, cmd.commandId);
  if (!raced)
    throw new Error(`command ${cmd.commandId} is recorded as consumed but has no stored reply`);
  return raced;
}

export async function markPublished(pool: Pool, schema: string, replyId: string): Promise<void> {
  await pool.query(
    `UPDATE ${schema}.outbox SET published_at = now() WHERE reply_id = $1 AND published_at IS NULL`,
    [replyId],
  );
}
