import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { promisify } from 'node:util';
import { InvalidOrderError, ShipshapeClient } from '../../src/client';
import type { OrderRow } from '../../src/orders/order-store';
import type { OrderDetails, OrderSummary } from '../../src/orders/order-service';
import { projectRoot } from '../../src/platform/paths';
import { isAlive } from '../../tooling/stack/process';
import { waitFor } from '../../src/platform/wait';
import { callerApiKey } from '../../src/platform/security/credentials';
import { payloadKeysFor } from '../../src/platform/temporal/configured-payload-keys';
import { formatPayloadKeys } from '../../src/platform/temporal/payload-keys';
import { TEST_ENV, testConfig, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { APP_PROCESSES, drains, nodeOptionsOf } from '../../src/processes/table';

const run = promisify(execFile);
const bin = path.join(projectRoot, 'bin', 'shipshape.js');

describe('the client library and the CLI, end to end', function () {
  this.timeout(120_000);
  let h: Harness;
  let client: ShipshapeClient;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness();
    const secrets = readLocalSecrets(h.config.stack.dir)!;
    client = await ShipshapeClient.connect({
      address: h.config.temporal.address,
      taskQueue: h.config.temporal.taskQueue,
      workflowSettings: { stepTimeoutMs: 5_000 },
      payloadKeys: formatPayloadKeys(payloadKeysFor(h.config)),
      dataKeys: `${secrets.dataKey!.id}:${secrets.dataKey!.key}`,
    });
  });
  after(async function () {
    this.timeout(60_000);
    await client?.close();
    await h?.stop();
  });

  const cli = (...args: string[]) =>
    run('node', [bin, ...args], {
      env: { ...TEST_ENV, PORT: new URL(h.apiUrl).port },
      cwd: projectRoot,
    });

  it('places an order straight through Temporal, once, and reads it back through the client and the API', async () => {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 5 });
    const orderId = uniqueId('lib');
    const order = { ...orderBody({ orderId, customerId: uniqueId('c'), sku }), orderId };
    assert.deepEqual(await client.placeOrder(order), {
      orderId,
      workflowId: `order-${orderId}`,
      created: true,
    });
    assert.equal((await client.placeOrder(order)).created, false);
    const done = await waitFor('the order to complete', async () => {
      const v = await client.getOrder(orderId);
      return v?.status === 'COMPLETED' ? v : undefined;
    });
    assert.equal(done.steps.shipping.state, 'SUCCEEDED');
    assert.equal(
      (await http<OrderDetails>(h, 'GET', `/orders/${orderId}`)).body.status,
      'COMPLETED',
    );
    assert.equal(h.payment.state.ledger.charges.filter((c) => c.orderId === orderId).length, 1);
    assert.deepEqual(await client.cancelOrder(orderId), {
      accepted: false,
      reason: 'no running order with this id',
    });
    assert.equal(await client.getOrder(uniqueId('unknown')), undefined);
    assert.equal(await client.reconcileOrder(uniqueId('unknown')), false);
    await assert.rejects(
      client.placeOrder({ ...order, orderId: uniqueId('bad'), currency: 'euro' }),
      (e: unknown) => e instanceof InvalidOrderError && e.issues[0]?.field === 'currency',
    );
  });

  it('runs the order commands of the CLI, with --json and meaningful exit codes', async () => {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 5 });
    const customerId = uniqueId('c');
    const file = path.join(os.tmpdir(), `${uniqueId('order')}.json`);
    writeFileSync(file, JSON.stringify(orderBody({ customerId, sku })));
    const key = uniqueId('key');
    const placed = JSON.parse(
      (await cli('order', 'place', file, '--idempotency-key', key)).stdout,
    ) as OrderSummary;
    const again = JSON.parse(
      (await cli('order', 'place', file, '--idempotency-key', key)).stdout,
    ) as OrderSummary;
    assert.equal(again.orderId, placed.orderId);
    await waitForOrder(h, placed.orderId, hasStatus('COMPLETED'));

    const got = JSON.parse(
      (await cli('order', 'get', placed.orderId, '--json')).stdout,
    ) as OrderDetails;
    assert.equal(got.status, 'COMPLETED');
    const text = (await cli('order', 'get', placed.orderId)).stdout;
    assert.match(text, new RegExp(`^${placed.orderId}\\s+COMPLETED`));
    const listed = JSON.parse(
      (await cli('order', 'list', '--customer', customerId, '--json')).stdout,
    ) as OrderRow[];
    assert.deepEqual(
      listed.map((o) => o.orderId),
      [placed.orderId],
    );

    await assert.rejects(
      cli('order', 'cancel', placed.orderId),
      (e: { code: number; stderr: string }) => e.code === 4 && /already COMPLETED/.test(e.stderr),
    );
    const reconciled = JSON.parse(
      (await cli('order', 'reconcile', placed.orderId, '--reason', 'checking')).stdout,
    ) as OrderSummary;
    assert.deepEqual([reconciled.orderId, reconciled.status], [placed.orderId, 'COMPLETED']);
    await assert.rejects(
      cli('order', 'resolve', placed.orderId, '--action', 'retry'),
      (e: { code: number; stderr: string }) => e.code === 4 && /not NEEDS_ATTENTION/.test(e.stderr),
    );
    await assert.rejects(
      cli('order', 'get', uniqueId('nope')),
      (e: { code: number }) => e.code === 3,
    );
    await assert.rejects(
      cli('order', 'place', '/no/such/file.json'),
      (e: { code: number }) => e.code === 2,
    );
    await assert.rejects(
      cli('order', 'list', '--limit', 'lots'),
      (e: { code: number; stderr: string }) => e.code !== 0 && /--limit/.test(e.stderr),
    );
    for (const cmd of [
      ['--help'],
      ['order', 'place', '--help'],
      ['dlq', 'replay', '--help'],
      ['backlog', '--help'],
      ['stack', 'up', '--help'],
    ]) {
      assert.match((await cli(...cmd)).stdout, /Usage: shipshape/);
    }
  });

  it('`shipshape run` starts every process, serves orders, and stops them all on SIGINT', async () => {
    const config = testConfig();
    const child = spawn('node', [bin, 'run', '--no-stack'], {
      env: TEST_ENV,
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      await waitFor('shipshape run to be ready', () => /Shipshape is running/.test(stderr), {
        timeoutMs: 90_000,
      });
      const ready = [...stderr.matchAll(/(\S+) ready \(pid (\d+)\)/g)].map((m) => ({
        name: m[1]!,
        pid: Number(m[2]),
      }));
      const pids = ready.map((p) => p.pid);
      assert.equal(pids.length, APP_PROCESSES.length + 1, stderr); // and the fake providers
      // What drains the backlog runs behind what accepts orders (SHIPSHAPE_DRAIN_NICENESS).
      for (const { name, pid } of ready)
        assert.equal(os.getPriority(pid), drains(name) ? config.drainNiceness : 0, name);
      assert.equal(os.getPriority(ready.find((p) => p.name === 'api')!.pid), 0);
      // A process's own node options (the worker's heap limit) are on its command line, as `ps` shows.
      for (const { name, pid } of ready) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        for (const option of nodeOptionsOf(name))
          assert.ok(argv.includes(option), `${name}: ${option}`);
      }
      assert.ok(nodeOptionsOf('temporal-worker').length > 0);
      const api = { apiUrl: `http://127.0.0.1:${config.api.port}`, apiKey: callerApiKey(config) };
      const sku = uniqueId('sku');
      await http(api, 'PUT', `/inventory/${sku}`, { available: 3 });
      const orderId = uniqueId('run');
      assert.equal(
        (await http(api, 'POST', '/orders', orderBody({ orderId, customerId: uniqueId('c'), sku })))
          .status,
        202,
      );
      assert.equal((await waitForOrder(api, orderId)).status, 'COMPLETED');
      const workerMetrics = await (
        await fetch(`http://127.0.0.1:${config.stack.ports.metricsBase + 3}/metrics`)
      ).text();
      assert.match(
        workerMetrics,
        /shipshape_commands_handled_total\{service="inventory",outcome="applied",process="inventory"\}/,
      );
      child.kill('SIGINT');
      assert.equal(await exited, 0);
      for (const pid of pids)
        assert.equal(isAlive(pid), false, `pid ${pid} outlived shipshape run`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
