import type { Pool } from 'pg';
import { insertAcceptedOrders } from './order-store';
import type { AcceptedOrder, OrderRow } from './order-store';

interface Waiting {
  accepted: AcceptedOrder;
  resolve(row: OrderRow | undefined): void;
  reject(err: unknown): void;
}

/**
 * Writes accepted orders as they come, and the ones that arrive while earlier writes are in flight
 * together in one statement: under a burst, one commit carries many orders instead of each order
 * waiting for a pooled connection and a commit of its own. A lone order is written at once, so a quiet
 * API waits for nothing. Every caller is answered only after its own row is committed.
 */
export class BatchedOrderInserts {
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;

  constructor(
    private readonly pool: Pool,
    opts: { maxInFlight?: number; maxBatch?: number } = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxBatch = opts.maxBatch ?? 200;
  }

  /** The order's row once committed; undefined when its order id or idempotency key is already known. */
  insert(accepted: AcceptedOrder): Promise<OrderRow | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ accepted, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const rows = await insertAcceptedOrders(
        this.pool,
        batch.map((w) => w.accepted),
      );
      batch.forEach((w, i) => w.resolve(rows[i]));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // One bad row fails the whole statement: write each alone, so only its own caller sees the error.
      await Promise.all(
        batch.map((w) =>
          insertAcceptedOrders(this.pool, [w.accepted]).then(
            ([row]) => w.resolve(row),
            (e: unknown) => w.reject(e),
          ),
        ),
      );
    }
  }
}
