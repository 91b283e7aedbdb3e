import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { CommandEnvelope } from '../../src/domain/types';
import { connectNats } from '../../src/platform/messaging/connection';
import { publishJson } from '../../src/platform/messaging/publish';
import { COMMAND_TRAIL, commandSubject } from '../../src/platform/messaging/subjects';
import { projectRoot } from '../../src/platform/paths';
import { PersonalData } from '../../src/platform/security/personal-data';
import { parsePayloadKeys } from '../../src/platform/temporal/payload-keys';
import { createLogger } from '../../src/platform/logger';
import { startApi } from '../../src/processes/api';
import type { Component } from '../../src/processes/resources';
import { waitFor } from '../../src/platform/wait';
import { workflowIdFor } from '../../workflows/definitions';
import { TEST_ENV, testConfig, uniqueId } from '../support/env';
import { hasStatus, http, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { sampleOrder } from '../../src/client/order-body';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';

const run = promisify(execFile);
const dataKey = (id: string) => `${id}:${crypto.randomBytes(32).toString('base64')}`;

/**
 * Personal data, sealed where it enters and opened only where it is used: an address is found in clear
 * at the carrier and nowhere Shipshape keeps it. Then a data key rotated with orders in flight, with
 * the tool that says what still needs the old key.
 */
describe('personal data: sealed wherever it is kept, and data keys rotated with orders in flight', function () {
  this.timeout(120_000);
  const k1 = dataKey(uniqueId('k1'));
  const k2 = dataKey(uniqueId('k2'));
  const idOf = (key: string) => key.split(':')[0]!;
  let h: Harness;
  const cli = (...args: string[]) =>
    run('node', [path.join(projectRoot, 'bin', 'shipshape.js'), ...args], {
      env: { ...TEST_ENV, SHIPSHAPE_DATA_KEYS: `${k2},${k1}` },
      cwd: projectRoot,
    });

  before(async function () {
    this.timeout(120_000);
    h = await startHarness({
      SHIPSHAPE_DATA_KEYS: k1,
      SHIPSHAPE_STEP_TIMEOUT_MS: '60000',
      SHIPSHAPE_MAX_DELIVER: '3',
    });
  });
  after(async function () {
    this.timeout(60_000);
    for (const s of ['loyalty', 'shipping'] as const) await h?.startService(s);
    await h?.stop();
  });

  /** An order whose address line no one could guess: where it shows up, it came from this order. */
  async function place(api = h, customerId = uniqueId('c')) {
    const orderId = uniqueId('ord');
    const sku = uniqueId('sku');
    const line1 = `${uniqueId('street')} Quay`;
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10 });
    const body = sampleOrder({
      orderId,
      customerId,
      items: [{ sku, quantity: 1, unitPriceCents: 1_000 }],
      shippingAddress: { name: 'Ada Example', line1, city: 'Leith', country: 'GB' },
    });
    const r = await http(api, 'POST', '/orders', { ...body, paymentMethod: `card ${line1}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return { orderId, line1, customerId };
  }

  it('keeps no address in clear in the orders table, the dead letters, the shipping notes, the streams or Temporal; the carrier gets it', async () => {
    const shipped = await place();
    await waitForOrder(h, shipped.orderId, hasStatus('COMPLETED'));
    assert.ok(
      h.carrier.state.ledger.shipments.some((s) => JSON.stringify(s).includes(shipped.line1)),
      'the carrier received the address in clear',
    );
    // A shipment the carrier keeps failing: its command is dead-lettered and its note stays.
    const stuck = await place();
    h.carrier.state.faults.failOrderIds.push(stuck.orderId);
    await waitFor('the failing create to be dead-lettered', async () => {
      const { rowCount } = await h.pool.query(
        `SELECT 1 FROM app.dead_letters WHERE order_id = $1 AND subject = 'cmd.shipping.create'`,
        [stuck.orderId],
      );
      return rowCount === 1;
    });
    h.carrier.state.faults.failOrderIds.length = 0;
    const kept = [
      ...(
        await h.pool.query<{ t: string }>(
          `SELECT request::text AS t FROM app.orders WHERE order_id = ANY($1)
           UNION ALL SELECT payload FROM app.dead_letters WHERE order_id = ANY($1)
           UNION ALL SELECT payload::text FROM shipping.provider_calls WHERE order_id = ANY($1)`,
          [[shipped.orderId, stuck.orderId]],
        )
      ).rows.map((r) => r.t),
    ];
    assert.ok(kept.length >= 3, `rows read: ${kept.length}`);
    const nc = await connectNats(h.config, 'admin', 'test-personal-data');
    try {
      const jsm = await jetstreamManager(nc);
      const { first_seq, last_seq } = (await jsm.streams.info(COMMAND_TRAIL)).state;
      for (let seq = Math.max(first_seq, last_seq - 200); seq <= last_seq; seq++) {
        const m = await jsm.streams.getMessage(COMMAND_TRAIL, { seq }).catch(() => undefined);
        if (m) kept.push(m.string());
      }
    } finally {
      await nc.close();
    }
    // The history through the payload keys, as an operator with the codec server reads it.
    const history = await h.temporal.workflow
      .getHandle(workflowIdFor(shipped.orderId))
      .fetchHistory();
    for (const e of history.events ?? [])
      for (const p of [
        ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
        ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
      ])
        kept.push(
          Buffer.from(
            (await h.temporal.options.loadedDataConverter.payloadCodecs[0]!.decode([p]))[0]!.data ??
              [],
          ).toString(),
        );
    const joined = kept.join('\n');
    assert.ok(joined.includes(`pd1:${idOf(k1)}:`), 'the sealed values are there');
    for (const o of [shipped, stuck]) {
      assert.ok(!joined.includes(o.line1), `${o.orderId}'s address is nowhere in clear`);
      assert.ok(!joined.includes('Ada Example'), 'no name in clear');
    }
  });

  it('rotates a data key while an order is in flight: it completes, the tool says what still needs the old key, and the tables are sealed again', async () => {
    await h.stopService('loyalty'); // the order waits before its shipment, sealed with k1
    const customerId = uniqueId('rotation');
    const before = await place(h, customerId);
    await waitForOrder(h, before.orderId, hasStatus('AWARDING_POINTS'));

    // The new key opens first where it is used, then seals where orders enter.
    await h.stopService('shipping');
    await h.startService('shipping', { SHIPSHAPE_DATA_KEYS: `${k2},${k1}` });
    let api: (Component & { port: number }) | undefined;
    try {
      const config = testConfig({ ...TEST_ENV, SHIPSHAPE_DATA_KEYS: `${k2},${k1}` });
      api = await startApi(
        { ...h.config, dataKeys: config.dataKeys, api: { ...h.config.api, port: 0 } },
        createLogger('test-api', 'fatal'),
      );
      const after = await place({ ...h, apiUrl: `http://127.0.0.1:${api.port}` }, customerId);
      await h.startService('loyalty');
      for (const o of [before, after]) await waitForOrder(h, o.orderId, hasStatus('COMPLETED'));

      const usage = async () =>
        JSON.parse(
          (
            await cli(
              'keys',
              'data-usage',
              '--json',
              '--runs-query',
              `CustomerId = "${customerId}"`,
            )
          ).stdout,
        ) as {
          current: string;
          places: Record<string, Record<string, number>>;
          stillNeeded: string[];
        };
      const first = await usage();
      assert.equal(first.current, idOf(k2));
      assert.ok(first.stillNeeded.includes(idOf(k1)), JSON.stringify(first.stillNeeded));
      assert.ok((first.places['app.orders']?.[idOf(k1)] ?? 0) >= 1);
      assert.ok((first.places['Temporal: closed runs (within retention)']?.[idOf(k1)] ?? 0) >= 1);

      const dry = JSON.parse(
        await cli('keys', 'reseal', '--dry-run', '--json').then(
          (r) => r.stdout,
          (e: { stdout: string }) => e.stdout,
        ),
      ) as { rewritten: Record<string, number> };
      assert.ok((dry.rewritten['app.orders'] ?? 0) >= 1);
      assert.equal(
        (await usage()).places['app.orders']?.[idOf(k1)],
        first.places['app.orders']?.[idOf(k1)],
        'a dry run changes nothing',
      );
      await cli('keys', 'reseal').catch((e: { code?: number }) => {
        // Other tests' rows may hold keys this run does not list: they are left, and it says so.
        if (e.code !== 1) throw e;
      });
      const second = await usage();
      assert.equal(
        second.places['app.orders']?.[idOf(k1)] ?? 0,
        0,
        'the tables hold no k1 any more',
      );
      // What cannot be rewritten still holds it: the key stays needed until those age out.
      assert.ok(second.stillNeeded.includes(idOf(k1)), JSON.stringify(second.stillNeeded));

      // Dropped too early, the old key is missed loudly: a command sealed with it is not applied,
      // and its dead letter names the key.
      await h.stopService('shipping');
      await h.startService('shipping', { SHIPSHAPE_DATA_KEYS: k2 });
      const orderId = uniqueId('late');
      const workflowId = workflowIdFor(orderId);
      const late: CommandEnvelope<'shipping.create'> = {
        commandId: `${workflowId}:shipping.create:4`,
        type: 'shipping.create',
        orderId,
        workflowId,
        seq: 4,
        payload: {
          address: new PersonalData(parsePayloadKeys(k1)).seal({
            line1: '1 Quay',
            city: 'Leith',
            country: 'GB',
          }),
          items: [{ sku: 'x', quantity: 1 }],
        },
      };
      const nc = await connectNats(h.config, 'admin', 'test-late');
      try {
        await publishJson(jetstream(nc), commandSubject(late.type), late, late.commandId, late);
      } finally {
        await nc.close();
      }
      const letter = await waitFor('the late command to be dead-lettered', async () => {
        const { rows } = await h.pool.query<{ error: string }>(
          `SELECT error FROM app.dead_letters WHERE order_id = $1`,
          [orderId],
        );
        return rows[0];
      });
      assert.match(
        letter.error,
        new RegExp(`data key "${idOf(k1)}", which this process does not have`),
      );
      assert.equal(h.carrier.state.ledger.shipments.filter((s) => s.orderId === orderId).length, 0);
    } finally {
      await api?.stop();
      await h.stopService('shipping');
      await h.startService('shipping');
      // The tables back under the key the rest of the stack seals with (they are every test's).
      const local = readLocalSecrets(h.config.stack.dir)!.dataKey!;
      await run('node', [path.join(projectRoot, 'bin', 'shipshape.js'), 'keys', 'reseal'], {
        env: { ...TEST_ENV, SHIPSHAPE_DATA_KEYS: `${local.id}:${local.key},${k2},${k1}` },
        cwd: projectRoot,
      }).catch(() => undefined);
    }
  });
});
