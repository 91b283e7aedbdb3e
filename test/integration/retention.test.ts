import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { createPool } from '../../src/platform/db/pool';
import { createLogger } from '../../src/platform/logger';
import { projectRoot } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { startBridge } from '../../src/processes/reply-bridge';
import type { Component } from '../../src/processes/resources';
import { startService } from '../../src/processes/service';
import { TEST_ENV, testConfig, uniqueId } from '../support/env';

const run = promisify(execFile);
const METRICS_PORT = testConfig().stack.ports.metricsBase + 91;

describe('records past their retention are pruned by their owners, never what deduplication still needs (real PostgreSQL)', function () {
  this.timeout(60_000);
  const config = testConfig({ SHIPSHAPE_PRUNE_PERIOD_MS: '1000' });
  const lines: string[] = [];
  const log = createLogger(
    'test-retention',
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  let db: Pool;
  const started: Component[] = [];

  before(() => {
    db = createPool(config, 'migrator', { max: 2 });
  });
  after(async () => {
    for (const c of started.reverse()) await c.stop();
    await db?.end();
  });

  /** One command of `orderId` that payment handled `daysAgo`, with its reply (sent unless told). */
  async function handled(orderId: string, seq: number, daysAgo: number, sent = true) {
    const commandId = `order-${orderId}:payment.charge:${seq}`;
    await db.query(
      `INSERT INTO payment.consumed_messages (command_id, command_type, order_id, seq, outcome, reply_id, consumed_at)
       VALUES ($1, 'payment.charge', $2, $3, 'applied', 'reply:' || $1, now() - make_interval(days => $4))`,
      [commandId, orderId, seq, daysAgo],
    );
    await db.query(
      `INSERT INTO payment.outbox (reply_id, command_id, subject, payload, created_at, published_at)
       VALUES ('reply:' || $1, $1, 'reply.payment.charge', '{}', now() - make_interval(days => $2),
               CASE WHEN $3 THEN now() - make_interval(days => $2) END)`,
      [commandId, daysAgo, sent],
    );
    return commandId;
  }
  const claimed = (orderId: string, daysAgo: number) =>
    db.query(
      `INSERT INTO payment.order_claims (order_id, run_id, sent_at_ms, claimed_at)
       VALUES ($1, 'run-1', 1, now() - make_interval(days => $2))`,
      [orderId, daysAgo],
    );
  const fenced = (orderId: string, daysAgo: number) =>
    db.query(
      `INSERT INTO payment.fenced_commands (command_id, command_type, order_id, run_id, sent_at_ms,
         claimant_run_id, claimant_sent_at_ms, refused_at)
       VALUES ($1, 'payment.charge', $2, 'run-0', 0, 'run-1', 1, now() - make_interval(days => $3))`,
      [`order-${orderId}:payment.charge:9`, orderId, daysAgo],
    );
  const noted = async (orderId: string, daysAgo: number) => {
    const commandId = `order-${orderId}:payment.charge:7`;
    await db.query(
      `INSERT INTO payment.provider_calls (command_id, order_id, command_type, payload, noted_at)
       VALUES ($1, $2, 'payment.charge', '{}', now() - make_interval(days => $3))`,
      [commandId, orderId, daysAgo],
    );
    return commandId;
  };
  const rowsOf = async (orderId: string) => {
    const { rows } = await db.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM payment.consumed_messages WHERE order_id = $1) AS consumed,
              (SELECT count(*)::int FROM payment.outbox WHERE command_id LIKE 'order-' || $1 || ':%') AS outbox,
              (SELECT count(*)::int FROM payment.order_claims WHERE order_id = $1) AS claims,
              (SELECT count(*)::int FROM payment.fenced_commands WHERE order_id = $1) AS fenced,
              (SELECT count(*)::int FROM payment.provider_calls WHERE order_id = $1) AS notes`,
      [orderId],
    );
    return rows[0]!;
  };
  const none = { consumed: 0, outbox: 0, claims: 0, fenced: 0, notes: 0 };

  it("prunes an order's record at a service whole once all of it is past the retention, and keeps the rest", async () => {
    // The default retention is 30 days.
    const old = uniqueId('old');
    await handled(old, 1, 40);
    await handled(old, 2, 35);
    await claimed(old, 40);
    await fenced(old, 35);
    const unsettled = await noted(old, 40);
    const onlyANote = uniqueId('note');
    const lostCall = await noted(onlyANote, 31);
    const stillActive = uniqueId('active');
    await handled(stillActive, 1, 40);
    await handled(stillActive, 2, 1);
    await claimed(stillActive, 40);
    const replyOwed = uniqueId('owed');
    await handled(replyOwed, 1, 40, false);
    const recent = uniqueId('recent');
    await handled(recent, 1, 29);
    await noted(recent, 29);

    started.push(
      await startService({ ...config, metricsPort: METRICS_PORT }, 'payment', log.child({})),
    );
    await waitFor('the old order to be pruned', async () => {
      const [a, b] = [await rowsOf(old), await rowsOf(onlyANote)];
      return a.consumed === 0 && b.notes === 0;
    });
    assert.deepEqual(await rowsOf(old), none, 'every part of the old record went together');
    assert.deepEqual(await rowsOf(onlyANote), none);
    assert.deepEqual(
      await rowsOf(stillActive),
      { consumed: 2, outbox: 2, claims: 1, fenced: 0, notes: 0 },
      'an order with a recent command is kept whole',
    );
    assert.deepEqual(
      await rowsOf(replyOwed),
      { consumed: 1, outbox: 1, claims: 0, fenced: 0, notes: 0 },
      'an order whose reply is still to be sent is kept',
    );
    assert.deepEqual(
      await rowsOf(recent),
      { consumed: 1, outbox: 1, claims: 0, fenced: 0, notes: 1 },
      'an order within the retention is kept',
    );

    // Each provider call nobody settled is named, with the key to look it up by at the provider.
    for (const key of [unsettled, lostCall])
      assert.ok(
        lines.some((l) => l.includes('"level":40') && l.includes(`"idempotencyKey":"${key}"`)),
        `a warning names ${key}`,
      );
    const metrics = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
    const sample = (name: string, table: string) =>
      Number(new RegExp(`^${name}\\{table="${table}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    assert.ok(sample('shipshape_pruned_rows_total', 'payment.consumed_messages') >= 2);
    assert.ok(sample('shipshape_pruned_rows_total', 'payment.provider_calls') >= 2);
    for (const table of ['consumed_messages', 'outbox', 'order_claims', 'fenced_commands'])
      assert.ok(sample('shipshape_table_bytes', `payment.${table}`) > 0, `the size of ${table}`);
    assert.ok(sample('shipshape_table_rows', 'payment.consumed_messages') >= 0);
  });

  it('prunes dead letters past their retention in the reply bridge, and refuses to replay one the services may have forgotten', async () => {
    const insert = async (daysAgo: number, status: 'open' | 'replayed') => {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO app.dead_letters (stream, stream_seq, consumer, subject, payload, error, delivery_count,
           order_id, command_id, status, first_seen, last_seen)
         VALUES ('COMMANDS', $1, 'svc-payment', 'cmd.payment.charge', '{}', 'terminated: test', 1, $2, $3, $4,
                 now() - make_interval(days => $5), now() - make_interval(days => $5))
         RETURNING id::text AS id`,
        [
          -Math.floor(Math.random() * 1e12),
          uniqueId('dl-order'),
          uniqueId('dl-command'),
          status,
          daysAgo,
        ],
      );
      return rows[0]!.id;
    };
    const expiredOpen = await insert(31, 'open');
    const expiredReplayed = await insert(45, 'replayed');
    const tooOldToReplay = await insert(25, 'open');
    started.push(await startBridge(config, log.child({})));
    const exists = async (id: string) =>
      (await db.query('SELECT 1 FROM app.dead_letters WHERE id = $1', [id])).rowCount === 1;
    await waitFor(
      'the expired dead letters to be pruned',
      async () => !(await exists(expiredOpen)) && !(await exists(expiredReplayed)),
    );
    assert.ok(await exists(tooOldToReplay), 'a dead letter within its retention is kept');
    assert.ok(
      lines.some(
        (l) => l.includes('"level":40') && l.includes(`"neverReplayed":["${expiredOpen}"]`),
      ),
      'a dead letter pruned before anyone replayed it is named in a warning',
    );

    // Kept for reading, it is past the time the services surely remember its order: no replay.
    const refused = await run(
      'node',
      [path.join(projectRoot, 'bin', 'shipshape.js'), 'dlq', 'replay', tooOldToReplay],
      { env: TEST_ENV, cwd: projectRoot },
    ).then(
      () => assert.fail('the replay was made'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      new RegExp(`dead letter ${tooOldToReplay} was first seen 600 h ago, more than the 552 h`),
    );
    const { rows } = await db.query<{ status: string }>(
      'SELECT status FROM app.dead_letters WHERE id = $1',
      [tooOldToReplay],
    );
    assert.equal(rows[0]?.status, 'open');
  });

  it("lets no role delete a record younger than the floor setup writes, its owner's included", async () => {
    const { rows } = await db.query<{ hours: number }>('SELECT hours FROM public.retention_floor');
    assert.equal(rows[0]?.hours, config.retention.minimumHours);
    const payment = createPool(config, 'payment', { max: 1 });
    try {
      const young = uniqueId('young');
      const old = uniqueId('old-enough');
      await handled(young, 1, 13);
      await handled(old, 1, 15);
      await assert.rejects(
        payment.query('DELETE FROM payment.consumed_messages WHERE order_id = $1', [young]),
        (err: { code: string; message: string }) =>
          err.code === '42501' && /younger than the retention floor \(336 h\)/.test(err.message),
      );
      const gone = await payment.query(
        `DELETE FROM payment.outbox WHERE command_id = 'order-' || $1 || ':payment.charge:1'`,
        [old],
      );
      assert.equal(gone.rowCount, 1, 'the owner may delete what is older than the floor');
    } finally {
      await payment.end();
    }
  });
});
