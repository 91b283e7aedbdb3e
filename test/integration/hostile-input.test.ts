import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import type { CommandEnvelope, ReplyEnvelope } from '../../src/domain/types';
import { createPool } from '../../src/platform/db/pool';
import { createLogger } from '../../src/platform/logger';
import { connectNats } from '../../src/platform/messaging/connection';
import { publishJson } from '../../src/platform/messaging/publish';
import { COMMAND_STREAM } from '../../src/platform/messaging/subjects';
import { projectRoot } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { startRelay } from '../../src/processes/outbox-relay';
import { startBridge } from '../../src/processes/reply-bridge';
import type { Component } from '../../src/processes/resources';
import { startService } from '../../src/processes/service';
import type { DeadLetter } from '../../src/replies/dead-letter-store';
import { TEST_ENV, testConfig, uniqueId } from '../support/env';

const run = promisify(execFile);
const ports = testConfig().stack.ports;
const SERVICE_METRICS = ports.metricsBase + 92;
const BRIDGE_METRICS = ports.metricsBase + 93;
const RELAY_METRICS = ports.metricsBase + 94;

describe('hostile input on the broker: wrong shapes on a subject, forged replies, bad replays, oversize messages (real JetStream and PostgreSQL)', function () {
  this.timeout(60_000);
  const config = testConfig();
  const lines: string[] = [];
  const log = createLogger(
    'test-hostile',
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  let db: Pool;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  const started: Component[] = [];
  const oversizeReplies: string[] = [];

  before(async () => {
    db = createPool(config, 'migrator', { max: 2 });
    admin = await connectNats(config, 'admin', 'test-hostile');
    jsm = await jetstreamManager(admin);
    started.push(
      await startService({ ...config, metricsPort: SERVICE_METRICS }, 'inventory', log),
      await startBridge({ ...config, metricsPort: BRIDGE_METRICS }, log),
    );
  });
  after(async () => {
    for (const c of started.reverse()) await c.stop();
    // Sent, as far as later relays are concerned.
    await db?.query(`UPDATE inventory.outbox SET published_at = now() WHERE reply_id = ANY($1)`, [
      oversizeReplies,
    ]);
    await admin?.close();
    await db?.end();
  });

  const metricsOf = async (port: number) =>
    (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sample = (text: string, name: string, labels: string) =>
    Number(new RegExp(`^${name}\\{${labels}[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const deadLetterOf = (orderId: string) =>
    waitFor(`the dead letter of ${orderId}`, async () => {
      const { rows } = await db.query<{ id: string; error: string; stream: string }>(
        'SELECT id::text AS id, error, stream FROM app.dead_letters WHERE order_id = $1',
        [orderId],
      );
      return rows[0];
    });
  const cli = (...args: string[]) =>
    run('node', [path.join(projectRoot, 'bin', 'shipshape.js'), ...args], {
      env: TEST_ENV,
      cwd: projectRoot,
    });

  const orderId = uniqueId('misfiled');
  const release: CommandEnvelope<'inventory.release'> = {
    commandId: `order-${orderId}:inventory.release:2`,
    type: 'inventory.release',
    orderId,
    workflowId: `order-${orderId}`,
    seq: 2,
    payload: {},
  };

  it("terminates a well-formed command of another type on a service's subject: nothing applied, a dead letter, a log line, a count", async () => {
    const before = sample(
      await metricsOf(SERVICE_METRICS),
      'shipshape_commands_handled_total',
      'service="inventory",outcome="terminated"',
    );
    await publishJson(jetstream(admin), 'cmd.inventory.reserve', release, uniqueId('m'), release);
    const dl = await deadLetterOf(orderId);
    assert.equal(dl.stream, COMMAND_STREAM);
    assert.match(
      dl.error,
      /terminated: wrong subject: a inventory\.release message on cmd\.inventory\.reserve/,
    );
    const { rowCount } = await db.query(
      'SELECT 1 FROM inventory.consumed_messages WHERE order_id = $1',
      [orderId],
    );
    assert.equal(rowCount, 0, 'nothing was applied');
    assert.ok(lines.some((l) => l.includes('message refused and terminated (process)')));
    const service = await metricsOf(SERVICE_METRICS);
    assert.equal(
      sample(
        service,
        'shipshape_commands_handled_total',
        'service="inventory",outcome="terminated"',
      ),
      before + 1,
    );
    const bridge = await metricsOf(BRIDGE_METRICS);
    assert.ok(
      sample(bridge, 'shipshape_dead_letters_total', 'stream="COMMANDS",cause="terminated"') >= 1,
    );
  });

  it("terminates a reply that claims another service's type: no service speaks for another", async () => {
    const forged = uniqueId('forged');
    const reply: ReplyEnvelope = {
      replyId: `reply:order-${forged}:inventory.reserve:1`,
      commandId: `order-${forged}:inventory.reserve:1`,
      type: 'inventory.reserve',
      orderId: forged,
      workflowId: `order-${forged}`,
      outcome: 'succeeded',
    };
    const payment = await connectNats(config, 'payment', 'test-forger');
    try {
      // The payment service's own user may publish on its own reply subjects only.
      await publishJson(jetstream(payment), 'reply.payment.charge', reply, uniqueId('m'), reply);
    } finally {
      await payment.close();
    }
    const dl = await deadLetterOf(forged);
    assert.equal(dl.stream, 'REPLIES');
    assert.match(
      dl.error,
      /provenance: a inventory\.reserve reply arrived on reply\.payment\.charge: only inventory answers/,
    );
    const bridge = await metricsOf(BRIDGE_METRICS);
    assert.ok(
      sample(bridge, 'shipshape_dead_letters_total', 'stream="REPLIES",cause="terminated"') >= 1,
    );
  });

  it('refuses malformed dead-letter replays, naming what is wrong, publishes nothing, and replays a good fix', async () => {
    const { id } = await deadLetterOf(orderId);
    const lastSeq = async () => (await jsm.streams.info(COMMAND_STREAM)).state.last_seq;
    const seqBefore = await lastSeq();
    const fixFile = (content: string) => {
      const file = path.join(os.tmpdir(), `${uniqueId('fix')}.json`);
      writeFileSync(file, content);
      return file;
    };
    const refused = async (args: string[], why: RegExp) => {
      const err = await cli('dlq', 'replay', id, ...args).then(
        () => assert.fail(`replayed with ${args.join(' ')}`),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(err.code, 2, err.stderr);
      assert.match(err.stderr, why);
    };
    // As stored: a release, which does not go on the reserve subject.
    await refused([], /is a inventory\.release, which does not go on cmd\.inventory\.reserve/);
    await refused(['--payload-file', fixFile('{"commandId": ')], /the fixed payload is not JSON/);
    await refused(
      ['--payload-file', fixFile(JSON.stringify({ ...release, type: 'inventory.reserve' }))],
      /the fixed payload is not a valid message: items: /,
    );
    const elsewhere = uniqueId('other');
    await refused(
      [
        '--payload-file',
        fixFile(
          JSON.stringify({
            ...release,
            type: 'inventory.reserve',
            orderId: elsewhere,
            payload: { items: [{ sku: 'x', quantity: 1 }] },
          }),
        ),
      ],
      new RegExp(`is of order ${elsewhere}; dead letter ${id} is of ${orderId}`),
    );
    assert.equal(await lastSeq(), seqBefore, 'nothing was published');
    const { rows } = await db.query<{ status: string }>(
      'SELECT status FROM app.dead_letters WHERE id = $1',
      [id],
    );
    assert.equal(rows[0]?.status, 'open');

    // A fix of the same order and command, of the subject's type, goes through.
    const reserve = {
      ...release,
      commandId: release.commandId,
      type: 'inventory.reserve',
      payload: { items: [{ sku: uniqueId('none'), quantity: 1 }] },
    };
    const replayed = await cli(
      'dlq',
      'replay',
      id,
      '--payload-file',
      fixFile(JSON.stringify(reserve)),
    );
    assert.match(
      replayed.stderr,
      new RegExp(`replayed dead letter ${id} to cmd.inventory.reserve`),
    );
    const shown = JSON.parse((await cli('dlq', 'show', id)).stdout) as DeadLetter;
    assert.equal(shown.status, 'replayed');
  });

  it('refuses a replay over the max_payload of the broker with a clear error', async () => {
    const big = uniqueId('big');
    const cmd: CommandEnvelope<'inventory.reserve'> = {
      commandId: `order-${big}:inventory.reserve:1`,
      type: 'inventory.reserve',
      orderId: big,
      workflowId: `order-${big}`,
      seq: 1,
      payload: { items: [{ sku: 'x', quantity: 1 }] },
    };
    // A dead letter whose fix is too large to publish: the command, padded past max_payload.
    await publishJson(jetstream(admin), 'cmd.inventory.commit', cmd, uniqueId('m'), cmd);
    const { id } = await deadLetterOf(big);
    const file = path.join(os.tmpdir(), `${uniqueId('fix')}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        ...cmd,
        type: 'inventory.commit',
        payload: { reserveCommandId: 'y'.repeat(2 * 1024 * 1024) },
      }),
    );
    const err = await cli('dlq', 'replay', id, '--payload-file', file).then(
      () => assert.fail('replayed'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, err.stderr);
    assert.match(
      err.stderr,
      /dead letter \d+ is not replayed: a message of \d{7} bytes on cmd\.inventory\.commit is refused for good/,
    );
  });

  it('passes over a reply the broker refuses for good, with a log line and a count, and relays the rest', async () => {
    const reply = (orderId: string, padding: string): ReplyEnvelope => ({
      replyId: `reply:order-${orderId}:inventory.reserve:1`,
      commandId: `order-${orderId}:inventory.reserve:1`,
      type: 'inventory.reserve',
      orderId,
      workflowId: `order-${orderId}`,
      outcome: 'succeeded',
      result: { padding },
    });
    const huge = reply(uniqueId('huge'), 'z'.repeat(2 * 1024 * 1024));
    const small = reply(uniqueId('small'), '');
    oversizeReplies.push(huge.replyId);
    // Left unsent by a crash, a minute ago: the relay's to publish, the huge one first.
    for (const [r, age] of [
      [huge, 61],
      [small, 60],
    ] as const)
      await db.query(
        `INSERT INTO inventory.outbox (reply_id, command_id, subject, payload, created_at)
         VALUES ($1, $2, 'reply.inventory.reserve', $3, now() - make_interval(secs => $4))`,
        [r.replyId, r.commandId, JSON.stringify(r), age],
      );
    started.push(await startRelay({ ...config, metricsPort: RELAY_METRICS }, log));
    const sent = (r: ReplyEnvelope) =>
      db
        .query<{ published_at: Date | null }>(
          'SELECT published_at FROM inventory.outbox WHERE reply_id = $1',
          [r.replyId],
        )
        .then((q) => q.rows[0]?.published_at ?? null);
    await waitFor('the small reply to be relayed', async () => (await sent(small)) !== null);
    assert.equal(await sent(huge), null, 'the huge one stays in the outbox');
    assert.ok(
      lines.some(
        (l) =>
          l.includes('"level":50') && l.includes(huge.replyId) && l.includes('refused for good'),
      ),
      'an error line names it',
    );
    const relay = await metricsOf(RELAY_METRICS);
    assert.equal(sample(relay, 'shipshape_replies_refused_total', 'service="inventory"'), 1);
  });
});
