import type { Pool, PoolClient } from 'pg';
import type { ReplyEnvelope, ServiceName } from '../../domain/types';

/**
 * A service's outbox: the reply to each command it handled, written in the same transaction as the
 * effect, published by the service right after the commit — or by the outbox relay, when a crash came
 * in between — and marked published once JetStream has it.
 */

/** The reply a service stored for a command, and its subject; undefined if it never handled it. */
export async function storedReply(
  db: Pool | PoolClient,
  service: ServiceName,
  commandId: string,
): Promise<{ reply: ReplyEnvelope; subject: string } | undefined> {
  const { rows } = await db.query<{ subject: string; payload: ReplyEnvelope }>(
    `SELECT subject, payload FROM ${service}.outbox WHERE command_id = $1`,
    [commandId],
  );
  const row = rows[0];
  return row ? { reply: row.payload, subject: row.subject } : undefined;
}

/** A command the service handled: its stored reply, and the run whose command it answered first. */
export interface HandledCommand {
  reply: ReplyEnvelope;
  subject: string;
  /** The Temporal run that sent the command when it was handled (null before commands carried it). */
  runId: string | null;
}

/** The service's own record of a command it handled; undefined if it never did. */
export async function handledCommand(
  db: Pool | PoolClient,
  service: ServiceName,
  commandId: string,
): Promise<HandledCommand | undefined> {
  const { rows } = await db.query<{
    subject: string;
    payload: ReplyEnvelope;
    run_id: string | null;
  }>(
    `SELECT o.subject, o.payload, c.run_id FROM ${service}.outbox o
     JOIN ${service}.consumed_messages c USING (command_id) WHERE o.command_id = $1`,
    [commandId],
  );
  const row = rows[0];
  return row ? { reply: row.payload, subject: row.subject, runId: row.run_id } : undefined;
}

/** Stores a command's reply, inside the transaction that makes its effect. */
export async function recordReply(
  tx: PoolClient,
  service: ServiceName,
  reply: ReplyEnvelope,
  subject: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO ${service}.outbox (reply_id, command_id, subject, payload) VALUES ($1, $2, $3, $4)`,
    [reply.replyId, reply.commandId, subject, JSON.stringify(reply)],
  );
}

export async function markPublished(
  pool: Pool,
  schema: ServiceName,
  replyId: string,
): Promise<void> {
  await pool.query(
    `UPDATE ${schema}.outbox SET published_at = now() WHERE reply_id = $1 AND published_at IS NULL`,
    [replyId],
  );
}

/**
 * Marks replies published in batches: one UPDATE for every reply published while the previous one
 * ran, instead of a commit per reply in the lane's path. A mark that is lost (a crash, a failed
 * UPDATE) only makes the outbox relay publish the reply again, which JetStream drops as a duplicate
 * and the workflow ignores.
 */
export class PublishedMarks {
  private pending: string[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  add(replyId: string): void {
    this.pending.push(replyId);
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length) {
        const ids = this.pending;
        this.pending = [];
        await this.pool
          .query(
            `UPDATE ${this.schema}.outbox SET published_at = now()
             WHERE reply_id = ANY($1::text[]) AND published_at IS NULL`,
            [ids],
          )
          .catch(this.onError);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Resolves once every mark added so far is written (or has failed). */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
