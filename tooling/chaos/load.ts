import { setTimeout as delay } from 'node:timers/promises';
import type { AcceptedOrder } from './invariants';
import type { Random } from './random';
import { backoffMs } from '../../src/platform/backoff';
import { sampleOrder } from '../../src/client/order-body';
import { ApiClient } from '../../src/client/api-client';

export interface LoadOptions {
  apiUrl: string;
  /** Sent as `Authorization: Bearer`; the local stack's operator key. */
  apiKey: string | undefined;
  runId: string;
  rng: Random;
  ratePerSec: number;
  /**
   * Orders accepted but not yet ended, above which a tick places nothing: the rate is steady while the
   * app keeps up, and a slow machine is not buried under more work than a fault leaves it able to do.
   */
  maxOutstanding: number;
  /** How many of the run's accepted orders have not ended yet (read from the orders table). */
  unfinished: () => Promise<number>;
  log: (line: string) => void;
}

/** The run's catalogue: SKUs with their starting stock (one kept short, so some orders run out). */
export interface Catalogue {
  skus: { sku: string; stock: number; priceCents: number }[];
  customers: string[];
  /** Customers whose card the fake payment provider declines: their orders fail and compensate. */
  declined: string[];
}

export function catalogueFor(runId: string, rng: Random): Catalogue {
  const skus = Array.from({ length: 5 }, (_, i) => ({
    sku: `${runId}-sku-${i}`,
    stock: i === 0 ? 15 : 5000,
    priceCents: rng.int(2, 80) * 50,
  }));
  const customers = Array.from({ length: 12 }, (_, i) => `${runId}-cust-${i}`);
  return { skus, customers, declined: customers.slice(0, 2) };
}

/**
 * Places orders through the HTTP API at a steady rate, as a client would: each POST is retried with the
 * same order id until the API answers (so an order is never left half-known), and a few orders are
 * cancelled soon after. Every order the API accepts is recorded for the invariant checker.
 */
export class OrderLoad {
  readonly accepted = new Map<string, AcceptedOrder>();
  readonly cancelsRequested = new Set<string>();
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private placed = 0;
  /** Ticks that placed nothing because too many orders were still open. */
  skipped = 0;

  private readonly api: ApiClient;

  constructor(
    private readonly opts: LoadOptions,
    private readonly catalogue: Catalogue,
  ) {
    this.api = new ApiClient(opts.apiUrl, opts.apiKey);
  }

  /** Sends one request, retrying network errors and 5xx until `deadlineMs`; returns the final status. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    deadlineMs = 120_000,
  ): Promise<number> {
    const until = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const { status } = await this.api.request(method, path, body, {}, 15_000);
        if (status < 500 && status !== 429) return status;
        if (Date.now() > until) return status;
      } catch (err) {
        if (Date.now() > until) throw err;
      }
      await delay(backoffMs(attempt + 1, 100, 2_000));
    }
  }

  /** Stock for every SKU and the declining customers at the fake payment provider. */
  async setup(paymentUrl: string): Promise<void> {
    for (const s of this.catalogue.skus) {
      const status = await this.request('PUT', `/inventory/${encodeURIComponent(s.sku)}`, {
        available: s.stock,
      });
      if (status >= 300) throw new Error(`PUT /inventory/${s.sku} answered ${status}`);
    }
    const res = await fetch(`${paymentUrl}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refuseCustomerIds: this.catalogue.declined }),
    });
    if (!res.ok)
      throw new Error(`the fake payment provider refused the fault settings: ${res.status}`);
  }

  start(): void {
    this.running = true;
    const gapMs = 1000 / this.opts.ratePerSec;
    this.loop = (async () => {
      let next = Date.now();
      while (this.running) {
        const unfinished = await this.opts.unfinished().catch(() => 0);
        if (unfinished + this.inFlight.size < this.opts.maxOutstanding) this.track(this.placeOne());
        else this.skipped++;
        next += gapMs;
        await delay(Math.max(0, next - Date.now()));
      }
    })();
  }

  /** Stops placing orders and waits until every POST has its answer. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  get count(): number {
    return this.placed;
  }

  /** Orders placed but still without an answer from the API. */
  get pending(): number {
    return this.inFlight.size;
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.opts.log(`load: ${(err as Error).message}`));
    this.inFlight.add(t);
    void t.finally(() => this.inFlight.delete(t));
  }

  private async placeOne(): Promise<void> {
    const { rng, runId } = this.opts;
    const n = ++this.placed;
    const orderId = `${runId}-o${n}`;
    const customerId = rng.pick(this.catalogue.customers);
    const lines = rng.shuffle(this.catalogue.skus).slice(0, rng.int(1, 2));
    const items = lines.map((s) => ({
      sku: s.sku,
      quantity: rng.int(1, 3),
      unitPriceCents: s.priceCents,
    }));
    const cancelAfterMs = rng.chance(0.08) ? rng.int(200, 3000) : undefined;
    const body = sampleOrder({ orderId, customerId, items });
    const postedAt = Date.now();
    const status = await this.request('POST', '/orders', body, 10 * 60_000);
    if (status !== 202 && status !== 200) {
      throw new Error(`POST /orders ${orderId} answered ${status}`);
    }
    this.accepted.set(orderId, {
      orderId,
      customerId,
      totalCents: items.reduce((t, i) => t + i.quantity * i.unitPriceCents, 0),
      items: items.map(({ sku, quantity }) => ({ sku, quantity })),
      acceptedAt: postedAt,
    });
    if (cancelAfterMs !== undefined) {
      await delay(cancelAfterMs);
      this.cancelsRequested.add(orderId);
      await this.request('POST', `/orders/${encodeURIComponent(orderId)}/cancel`, {});
    }
  }
}
