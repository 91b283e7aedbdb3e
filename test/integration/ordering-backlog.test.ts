import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BacklogReport } from '../../src/cli/backlog';
import { SERVICES } from '../../src/domain/types';
import type { OrderSummary } from '../../src/orders/order-service';
import { projectRoot } from '../../src/platform/paths';
import { waitFor } from '../../src/platform/wait';
import { TEST_ENV, uniqueId } from '../support/env';
import {
  authHeaders,
  hasStatus,
  http,
  orderBody,
  startHarness,
  waitForOrder,
  waitForOrdersFinished,
} from '../support/harness';
import type { Harness } from '../support/harness';

const run = promisify(execFile);

/** Runs `fn` over `items` with at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('per-order ordering, key-ordered lanes, visible backlog, peaks absorbed', function () {
  this.timeout(240_000);
  let h: Harness;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness({ SHIPSHAPE_LANES: '8' });
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
  });
  afterEach(() => h.payment.app.inject({ method: 'POST', url: '/_control/reset' }));
  afterEach(() => h.carrier.app.inject({ method: 'POST', url: '/_control/reset' }));

  /** Everything waiting, broker and engine together, from the API's /metrics. */
  async function totalBacklog(): Promise<number> {
    const text = await (await fetch(`${h.apiUrl}/metrics`, { headers: authHeaders(h) })).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('shipshape_backlog_pending{'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  async function metric(name: string, labels: string): Promise<number | undefined> {
    const text = await (await fetch(`${h.apiUrl}/metrics`, { headers: authHeaders(h) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : undefined;
  }

  it("applies each order's commands in sequence at every service: 200 orders, 20 customers, 8 lanes", async () => {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 10_000 });
    const customers = Array.from({ length: 20 }, () => uniqueId('cust'));
    const orders = Array.from({ length: 200 }, (_, i) => ({
      orderId: uniqueId(`ord${i}`),
      customerId: customers[i % 20]!,
    }));
    // A quarter fail at the carrier, so every service also sees compensations after its forward command.
    const rejected = new Set(orders.filter((_, i) => i % 4 === 0).map((o) => o.orderId));
    h.carrier.state.faults.refuseOrderIds.push(...rejected);
    await pool(orders, 20, (o) =>
      http(h, 'POST', '/orders', orderBody({ ...o, sku, quantity: 1 })),
    );
    await waitForOrdersFinished(
      h,
      orders.map((o) => o.orderId),
      180_000,
    );

    const ids = orders.map((o) => o.orderId);
    for (const service of SERVICES) {
      const { rows } = await h.pool.query<{ order_id: string; seqs: number[]; outcomes: string[] }>(
        `SELECT order_id, array_agg(seq ORDER BY consumed_at, seq) AS seqs, array_agg(outcome ORDER BY consumed_at, seq) AS outcomes
         FROM ${service}.consumed_messages WHERE order_id = ANY($1) GROUP BY order_id`,
        [ids],
      );
      assert.equal(rows.length, 200, `${service} saw every order`);
      for (const r of rows) {
        const sorted = [...r.seqs].sort((a, b) => a - b);
        assert.deepEqual(
          r.seqs,
          sorted,
          `${service} applied ${r.order_id}'s commands out of order: ${r.seqs.join(',')}`,
        );
        assert.ok(!r.outcomes.includes('stale'), `${service}: nothing was stale in a clean run`);
      }
    }
    const { rows: finished } = await h.pool.query<{ status: string }>(
      'SELECT status FROM app.orders WHERE order_id = ANY($1)',
      [ids],
    );
    const statuses = finished.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 'FAILED').length, rejected.size);
    assert.equal(statuses.filter((s) => s === 'COMPLETED').length, 200 - rejected.size);
  });

  it("keeps other orders moving while one order's command keeps failing", async () => {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 100 });
    const stuck = uniqueId('stuck');
    h.payment.state.faults.failOrderIds.push(stuck);
    await http(
      h,
      'POST',
      '/orders',
      orderBody({ orderId: stuck, customerId: uniqueId('c'), sku, quantity: 1 }),
    );
    await waitForOrder(h, stuck, hasStatus('CHARGING_PAYMENT'));
    const others = Array.from({ length: 20 }, () => uniqueId('free'));
    await pool(others, 10, (orderId) =>
      http(
        h,
        'POST',
        '/orders',
        orderBody({ orderId, customerId: uniqueId('c'), sku, quantity: 1 }),
      ),
    );
    await waitForOrdersFinished(h, others, 60_000);
    const meanwhile = await waitForOrder(h, stuck, () => true);
    assert.equal(
      meanwhile.status,
      'CHARGING_PAYMENT',
      'the failing order is still retrying its charge',
    );

    h.payment.state.faults.failOrderIds.length = 0;
    const done = await waitForOrder(h, stuck, undefined, 90_000);
    assert.equal(done.status, 'COMPLETED');
    assert.equal(h.payment.state.ledger.charges.filter((c) => c.orderId === stuck).length, 1);
  });

  it('accepts a burst of 500 orders while payment takes 200 ms a call; the backlog rises, drains to zero, and all complete', async () => {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 100_000 });
    h.payment.state.faults.latencyMs = 200;
    const orders = Array.from({ length: 500 }, (_, i) => uniqueId(`burst${i}`));
    const paymentPending = 'name="COMMANDS/svc-payment"';

    let maxPending = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxPending = Math.max(maxPending, await totalBacklog());
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const answers = await pool(orders, 50, (orderId) =>
      http<OrderSummary>(
        h,
        'POST',
        '/orders',
        orderBody({ orderId, customerId: uniqueId('c'), sku, quantity: 1 }),
      ),
    );
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [202], 'every POST was accepted');

    await waitForOrdersFinished(h, orders, 180_000);
    sampling = false;
    await sampler;
    const { rows: done } = await h.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM app.orders WHERE order_id = ANY($1) GROUP BY status',
      [orders],
    );
    assert.deepEqual(done, [{ status: 'COMPLETED', n: 500 }]);
    assert.ok(maxPending > 50, `the backlog rose (max ${maxPending} waiting)`);
    await waitFor('every consumer backlog to drain to zero', async () => {
      const text = await (await fetch(`${h.apiUrl}/metrics`, { headers: authHeaders(h) })).text();
      const pending = text
        .split('\n')
        .filter(
          (l) => l.startsWith('shipshape_backlog_pending{') && l.includes('source="consumer"'),
        );
      return pending.length === 6 && pending.every((l) => l.endsWith(' 0'));
    });
    assert.equal(await metric('shipshape_backlog_oldest_age_seconds', paymentPending), 0);
    assert.equal(
      h.payment.state.ledger.charges.filter((c) => orders.includes(c.orderId)).length,
      500,
    );

    const { stdout } = await run(
      'node',
      [path.join(projectRoot, 'bin', 'shipshape.js'), 'backlog', '--json', '--interval', '1'],
      {
        env: { ...TEST_ENV, TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue },
        cwd: projectRoot,
      },
    );
    const report = JSON.parse(stdout) as BacklogReport;
    const names = report.rows.map((r) => r.name);
    for (const s of SERVICES) assert.ok(names.includes(`COMMANDS/svc-${s}`), names.join(', '));
    assert.ok(names.includes(`${h.config.temporal.taskQueue} (workflow)`));
    assert.ok(
      report.rows
        .filter((r) => r.source === 'consumer')
        .every((r) => r.pending === 0 && r.drainSeconds === 0),
    );
  });
});
