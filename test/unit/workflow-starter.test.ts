import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import { createLogger } from '../../src/platform/logger';
import type { OrderRequest } from '../../src/domain/types';
import { WorkflowStarter } from '../../src/orders/workflow-starter';
import { waitFor } from '../../src/platform/wait';

const order = (orderId: string) => ({ orderId }) as OrderRequest;

/** A pool that records the orders marked started and answers the sweep with `unstarted`. */
function fakePool(unstarted: OrderRequest[] = []) {
  const marked: string[] = [];
  const pool = {
    query: (sql: string, params: unknown[]) => {
      if (sql.startsWith('UPDATE')) marked.push(...(params[0] as string[]));
      return Promise.resolve({
        rows: sql.startsWith('SELECT') ? unstarted.map((request) => ({ request })) : [],
      });
    },
  };
  return { pool: pool as unknown as Pool, marked };
}

describe('WorkflowStarter: starts accepted orders after the API answered', () => {
  const log = createLogger('test-starter', 'silent');

  it('retries a start that fails until it succeeds, then marks the order started once', async () => {
    const { pool, marked } = fakePool();
    let calls = 0;
    const starter = new WorkflowStarter({
      pool,
      log,
      start: () =>
        ++calls < 3 ? Promise.reject(new Error('temporal unavailable')) : Promise.resolve(true),
    });
    starter.enqueue(order('o-1'));
    await waitFor('the order to be marked started', () => marked.length > 0 || undefined, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    assert.equal(calls, 3);
    assert.deepEqual(marked, ['o-1']);
    assert.equal(starter.pending, 0);
    await starter.stop();
  });

  it('starts an order queued twice once, and never more than its concurrency at a time', async () => {
    const { pool, marked } = fakePool();
    const started: string[] = [];
    let running = 0;
    let peak = 0;
    const starter = new WorkflowStarter({
      pool,
      log,
      concurrency: 3,
      start: async (o) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        started.push(o.orderId);
        running--;
        return true;
      },
    });
    for (let i = 0; i < 20; i++) starter.enqueue(order(`o-${i}`));
    starter.enqueue(order('o-0'));
    await waitFor('every order to be marked started', () => marked.length === 20 || undefined, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    await starter.stop();
    assert.ok(peak <= 3, `peak ${peak}`);
    assert.equal(started.length, 20);
    assert.deepEqual(new Set(marked), new Set(started));
  });

  it('picks up orders that a stopped API accepted and never started', async () => {
    const { pool, marked } = fakePool([order('left-1'), order('left-2')]);
    const starter = new WorkflowStarter({ pool, log, start: () => Promise.resolve(false) });
    assert.equal(await starter.sweep(), 2);
    await waitFor('both to be marked', () => marked.length === 2 || undefined, {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    assert.deepEqual(marked.sort(), ['left-1', 'left-2']);
    await starter.stop();
  });

  it('starts nothing while orders are being accepted, then one at a time for orders held a second, all once it pauses', async () => {
    const { pool, marked } = fakePool();
    let acceptingDone!: () => void;
    let running = 0;
    let peak = 0;
    const began: number[] = [];
    const release: (() => void)[] = [];
    const starter = new WorkflowStarter({
      pool,
      log,
      concurrency: 8,
      holdMs: 300,
      start: async () => {
        began.push(Date.now());
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => release.push(r));
        running--;
        return true;
      },
    });
    // An order being accepted until `acceptingDone`; twenty accepted ones wait for their starts.
    const accepting = starter.whileAccepting(() => new Promise<void>((r) => (acceptingDone = r)));
    const queuedAt = Date.now();
    for (let i = 0; i < 20; i++) starter.enqueue(order(`b-${i}`));
    await waitFor('the first held order to be started', () => running === 1 || undefined, {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    assert.ok(began[0]! - queuedAt >= 290, `held ${began[0]! - queuedAt} ms first`);
    // While orders still come in, held ones go one at a time.
    release.splice(0).forEach((r) => r());
    await waitFor('the next one under way', () => began.length === 2 || undefined, {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    assert.equal(peak, 1);
    acceptingDone();
    await accepting;
    await waitFor('full concurrency once accepting stops', () => running === 8 || undefined, {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    while (marked.length < 20) {
      release.splice(0).forEach((r) => r());
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(new Set(marked).size, 20);
    await starter.stop();
  });
});
