import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import type { OrderRequest } from '../../src/domain/types';
import { BatchedOrderInserts } from '../../src/orders/batched-order-inserts';
import type { AcceptedOrder } from '../../src/orders/order-store';

const accepted = (orderId: string, idempotencyKey?: string): AcceptedOrder => ({
  order: { orderId, customerId: 'c', currency: 'EUR', items: [] } as unknown as OrderRequest,
  workflowId: `order-${orderId}`,
  totalCents: 100,
  idempotencyKey,
  startPending: true,
});

/**
 * A pool standing in for PostgreSQL's INSERT … ON CONFLICT DO NOTHING RETURNING: it keeps the order ids
 * and keys it has seen, answers with the rows it inserted, takes `delayMs` per statement and refuses a
 * whole statement that holds the order id "bad".
 */
function fakePool(delayMs = 5) {
  const ids = new Set<string>();
  const keys = new Set<string>();
  const statements: number[] = [];
  const pool = {
    query: async (_sql: string, values: unknown[]) => {
      await new Promise((r) => setTimeout(r, delayMs));
      const rows: { orderId: string }[] = [];
      const batch: [string, string | null][] = [];
      for (let i = 0; i < values.length; i += 8)
        batch.push([values[i] as string, values[i + 3] as string | null]);
      statements.push(batch.length);
      if (batch.some(([id]) => id === 'bad')) throw new Error('new row violates check constraint');
      for (const [id, key] of batch) {
        if (ids.has(id) || (key !== null && keys.has(key))) continue;
        ids.add(id);
        if (key !== null) keys.add(key);
        rows.push({ orderId: id });
      }
      return { rows };
    },
  };
  return { pool: pool as unknown as Pool, statements };
}

describe('BatchedOrderInserts: orders accepted together share a commit', () => {
  it('writes a lone order at once, and what arrives meanwhile in few statements', async () => {
    const { pool, statements } = fakePool();
    const inserts = new BatchedOrderInserts(pool, { maxInFlight: 1 });
    assert.equal((await inserts.insert(accepted('lone')))?.orderId, 'lone');
    assert.deepEqual(statements, [1]);
    await new Promise((r) => setImmediate(r)); // the lone write has fully finished
    const rows = await Promise.all(
      Array.from({ length: 50 }, (_, i) => inserts.insert(accepted(`o-${i}`))),
    );
    assert.deepEqual(
      rows.map((r) => r?.orderId),
      Array.from({ length: 50 }, (_, i) => `o-${i}`),
    );
    // The first goes alone; the 49 that came while it was in flight share the next statement.
    assert.deepEqual(statements, [1, 1, 49]);
  });

  it('gives a repeated order id or idempotency key to its first caller only', async () => {
    const { pool } = fakePool();
    const inserts = new BatchedOrderInserts(pool, { maxInFlight: 1 });
    const rows = await Promise.all([
      inserts.insert(accepted('first')),
      inserts.insert(accepted('same')),
      inserts.insert(accepted('same')),
      inserts.insert(accepted('k-1', 'key')),
      inserts.insert(accepted('k-2', 'key')),
    ]);
    assert.deepEqual(
      rows.map((r) => r?.orderId),
      ['first', 'same', undefined, 'k-1', undefined],
    );
  });

  it('fails only the order a refused statement was about; the others of its batch are written', async () => {
    const { pool } = fakePool();
    const inserts = new BatchedOrderInserts(pool, { maxInFlight: 1 });
    const results = await Promise.allSettled([
      inserts.insert(accepted('a')),
      inserts.insert(accepted('b')),
      inserts.insert(accepted('bad')),
      inserts.insert(accepted('c')),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value?.orderId : 'rejected')),
      ['a', 'b', 'rejected', 'c'],
    );
    assert.match(String((results[2] as PromiseRejectedResult).reason), /check constraint/);
  });
});
