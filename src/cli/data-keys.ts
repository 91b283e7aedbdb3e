import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { sealedKeyId, sealedValuesIn } from '../domain/sealed';
import { inTurn } from '../platform/in-turn';
import { stopReading } from '../platform/messaging/stream-reader';
import { COMMAND_STREAM, COMMAND_TRAIL } from '../platform/messaging/subjects';
import { PersonalDataError } from '../platform/security/personal-data';
import type { PersonalData } from '../platform/security/personal-data';
import { CLEANUP_WORKFLOW_TYPE, ORDER_WORKFLOW_TYPE } from '../../workflows/definitions';

/**
 * What still holds personal data sealed with each data key, and sealing again what the project's own
 * tables keep: the two halves of rotating a data key (docs/security.md, "Rotating a data key").
 * Temporal's histories and JetStream's messages cannot be rewritten: a key is dropped only once none
 * of them still holds a value sealed with it.
 */

/** Where sealed values are kept: each table that holds them, by its key column and its JSON column. */
const TABLES = [
  { table: 'app.orders', key: 'order_id', json: 'request', type: 'jsonb' },
  { table: 'app.dead_letters', key: 'id', json: 'payload', type: 'text' },
  { table: 'shipping.provider_calls', key: 'command_id', json: 'payload', type: 'json' },
] as const;
type Table = (typeof TABLES)[number];

/** How many values sealed with each key id a place holds. */
export type KeyCounts = Record<string, number>;

export interface DataKeyUsage {
  /** The key new values are sealed with. */
  current: string;
  /** Per place (a table, a stream, Temporal's runs): values sealed with each key. */
  places: Record<string, KeyCounts>;
  /** The keys nothing holds a value of any more, other than the current one: safe to drop. */
  droppable: string[];
  /** The keys something still holds a value of, but the current one. */
  stillNeeded: string[];
}

const count = (counts: KeyCounts, doc: unknown) => {
  for (const v of sealedValuesIn(doc)) {
    const id = sealedKeyId(v);
    if (id) counts[id] = (counts[id] ?? 0) + 1;
  }
};

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Every row of a table, a page at a time, with its JSON document parsed. */
async function* rowsOf(
  pool: Pool,
  t: Table,
): AsyncGenerator<{ key: string; text: string; doc: unknown }> {
  let after = '';
  for (;;) {
    const { rows } = await pool.query<{ key: string; text: string }>(
      `SELECT ${t.key}::text AS key, ${t.json}::text AS text FROM ${t.table}
       WHERE ${t.key}::text > $1 ORDER BY ${t.key}::text LIMIT 500`,
      [after],
    );
    for (const r of rows) yield { ...r, doc: parsed(r.text) };
    const last = rows[rows.length - 1];
    if (!last || rows.length < 500) return;
    after = last.key;
  }
}

/** Values sealed with each key in the project's tables. */
export async function tableUsage(pool: Pool): Promise<Record<string, KeyCounts>> {
  const places: Record<string, KeyCounts> = {};
  for (const t of TABLES) {
    const counts: KeyCounts = (places[t.table] = {});
    for await (const row of rowsOf(pool, t)) count(counts, row.doc);
  }
  return places;
}

/** Values sealed with each key in the messages the command streams hold (read, never consumed). */
export async function streamUsage(nc: NatsConnection): Promise<Record<string, KeyCounts>> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const places: Record<string, KeyCounts> = {};
  for (const stream of [COMMAND_STREAM, COMMAND_TRAIL]) {
    const info = await jsm.streams.info(stream).catch(() => undefined);
    if (!info) continue;
    const counts: KeyCounts = (places[`stream ${stream}`] = {});
    const { first_seq: first, last_seq: last, messages } = info.state;
    if (!messages) continue;
    // An ordered consumer of its own: reads what the stream holds and takes nothing from anyone.
    const consumer = await js.consumers.get(stream, { opt_start_seq: first });
    const iter = await consumer.consume();
    for await (const m of iter) {
      count(counts, parsed(m.string()));
      if (m.seq >= last) break;
    }
    await stopReading(consumer, iter);
  }
  return places;
}

/**
 * Values sealed with each key in the inputs of the order and cleanup runs Temporal keeps (open, and
 * closed within the namespace's retention): each run's first event, read through the payload keys.
 */
export async function temporalUsage(
  temporal: Client,
  progress: (done: number, total: number) => void,
  narrower?: string,
): Promise<Record<string, KeyCounts>> {
  const runs: { workflowId: string; runId: string; open: boolean }[] = [];
  const types = `WorkflowType IN ("${ORDER_WORKFLOW_TYPE}", "${CLEANUP_WORKFLOW_TYPE}")`;
  for await (const wf of temporal.workflow.list({
    query: narrower ? `${types} AND (${narrower})` : types,
  }))
    runs.push({ workflowId: wf.workflowId, runId: wf.runId, open: wf.status.name === 'RUNNING' });
  const open: KeyCounts = {};
  const closed: KeyCounts = {};
  await inTurn(
    runs,
    8,
    async (run) => {
      const history = await temporal.workflow
        .getHandle(run.workflowId, run.runId)
        .fetchHistory()
        .catch(() => undefined);
      const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
      const payloads = started?.input?.payloads ?? [];
      const values = await temporal.options.loadedDataConverter.payloadCodecs.reduceRight(
        async (p, codec) => codec.decode(await p),
        Promise.resolve(payloads),
      );
      for (const p of values)
        count(run.open ? open : closed, parsed(Buffer.from(p.data ?? []).toString('utf8')));
    },
    (done) => progress(done, runs.length),
  );
  return { 'Temporal: open runs': open, 'Temporal: closed runs (within retention)': closed };
}

/** The usage of every key, with what may be dropped. */
export function summarise(personal: PersonalData, places: Record<string, KeyCounts>): DataKeyUsage {
  const current = personal.currentKeyId;
  const used = new Set(Object.values(places).flatMap((c) => Object.keys(c)));
  const others = [...new Set([...personal.keyIds, ...used])].filter((k) => k !== current);
  return {
    current,
    places,
    droppable: others.filter((k) => !used.has(k)),
    stillNeeded: others.filter((k) => used.has(k)),
  };
}

/**
 * Seals again, with the current key, every value the project's tables keep sealed with another. Each
 * row is rewritten only if it is still as it was read (orders in flight write their rows meanwhile).
 * A value sealed with a key this process does not hold is left as it is and counted, by key.
 * Answers how many rows were rewritten, per table.
 */
export async function resealTables(
  pool: Pool,
  personal: PersonalData,
  dryRun: boolean,
): Promise<{ rewritten: Record<string, number>; unreadable: KeyCounts }> {
  const rewritten: Record<string, number> = {};
  const unreadable: KeyCounts = {};
  for (const t of TABLES) {
    rewritten[t.table] = 0;
    for await (const row of rowsOf(pool, t)) {
      if (row.doc === undefined) continue;
      let changed = false;
      const doc = structuredClone(row.doc);
      for (const v of sealedValuesIn(doc)) {
        let again;
        try {
          again = personal.reseal(v);
        } catch (err) {
          if (!(err instanceof PersonalDataError)) throw err;
          const id = sealedKeyId(v) ?? '(no key id)';
          unreadable[id] = (unreadable[id] ?? 0) + 1;
          continue;
        }
        if (again) {
          v.sealed = again.sealed;
          changed = true;
        }
      }
      if (!changed) continue;
      if (!dryRun) {
        const { rowCount } = await pool.query(
          `UPDATE ${t.table} SET ${t.json} = $2::${t.type}
           WHERE ${t.key}::text = $1 AND ${t.json}::text = $3`,
          [row.key, JSON.stringify(doc), row.text],
        );
        if (!rowCount) continue;
      }
      rewritten[t.table]! += 1;
    }
  }
  return { rewritten, unreadable };
}
