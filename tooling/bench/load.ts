import { TERMINAL_STATUSES } from '../../src/domain/types';
import http from 'node:http';
import type { ClientCost } from './client-cost';
import type { Pool } from '../../src/platform/db/pool';
import { sampleOrder } from '../../src/client/order-body';

/**
 * The load generator and what it measures. Every order is POSTed with its own id; the answer's time is
 * the accept latency. When an order reached its final state is read from the database (app.orders'
 * updated_at for a final status, written by whatever finished the order), not by asking the API.
 */

export interface Tracked {
  orderId: string;
  postedAt: number;
  acceptMs?: number;
  /** HTTP status, or 0 for a network error. */
  httpStatus?: number;
  /** Sent on a connection opened for it (a client's first request), not one kept alive. */
  newConnection?: boolean;
  doneAt?: number;
  status?: string;
}

export interface Target {
  url: string;
  headers: Record<string, string>;
}

const SKUS = 50;
export const benchSku = (i: number) => `bench-sku-${i}`;
export const BENCH_SKUS = Array.from({ length: SKUS }, (_, i) => benchSku(i));

export function orderBody(orderId: string, n: number) {
  return sampleOrder({
    orderId,
    customerId: `bench-customer-${n % 500}`,
    items: [
      { sku: benchSku(n % SKUS), quantity: 1, unitPriceCents: 1999 },
      { sku: benchSku((n * 7 + 3) % SKUS), quantity: 2, unitPriceCents: 450 },
    ],
  });
}

/** A load against one target, whether generated here or in the load process (remote-load.ts). */
export interface OrderLoad {
  /** Every order posted so far (for a remote load: answered so far), by id. */
  readonly byId: Map<string, Tracked>;
  openLoop(rate: number, durationMs: number): Promise<void>;
  burst(count: number, clients: number): Promise<void>;
  accepted(): Tracked[];
  /** Connections the load opened to the target (keep-alive reuses them across orders). */
  connectionsOpened(): number;
  /** What the load cost the process that generated it, where that process measured it. */
  clientCost?(): ClientCost | undefined;
  close(): void;
}

/** The load generator's HTTP client, as the run's conditions report it. */
export const HTTP_AGENT = { client: 'node:http Agent', keepAlive: true, maxSockets: 512 } as const;

/** How orders are made up, as the run's conditions report it (see orderBody). */
export const SKU_MIX =
  `${SKUS} SKUs, 2 lines an order (SKU n mod ${SKUS} ×1, SKU (7n+3) mod ${SKUS} ×2), ` +
  '500 customers, stock set to 10^9 before each design';

export class Orders implements OrderLoad {
  readonly byId = new Map<string, Tracked>();
  private readonly agent = new http.Agent({
    keepAlive: HTTP_AGENT.keepAlive,
    maxSockets: HTTP_AGENT.maxSockets,
  });
  private seq = 0;
  private opened = 0;
  inFlight = 0;
  /** Called with each order once it is answered (the load process passes them on). */
  onAnswered: ((t: Tracked) => void) | undefined;

  /** `query`: added to each POST's path, e.g. `?wait=paid` for callers who wait for an answer. */
  constructor(
    private readonly target: Target,
    private readonly prefix: string,
    private readonly query = '',
  ) {}

  /** POSTs one order and records when it was answered (accepted, or the wait's point reached). */
  post(): Promise<void> {
    const n = this.seq++;
    const orderId = `${this.prefix}-${n}`;
    const body = JSON.stringify(orderBody(orderId, n));
    const t: Tracked = { orderId, postedAt: Date.now() };
    this.byId.set(orderId, t);
    const started = performance.now();
    this.inFlight++;
    return new Promise<void>((resolve) => {
      const u = new URL(this.target.url);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: `${u.pathname}${this.query}`,
          method: 'POST',
          agent: this.agent,
          headers: {
            ...this.target.headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          t.newConnection = !req.reusedSocket;
          if (t.newConnection) this.opened++;
          res.resume();
          res.on('end', () => {
            t.acceptMs = performance.now() - started;
            t.httpStatus = res.statusCode ?? 0;
            this.inFlight--;
            this.onAnswered?.(t);
            resolve();
          });
        },
      );
      // A target that stops answering must not hang the run: after two minutes the order counts as refused.
      req.setTimeout(120_000, () => req.destroy(new Error('no answer in 120 s')));
      req.on('error', () => {
        t.acceptMs = performance.now() - started;
        t.httpStatus = 0;
        this.inFlight--;
        this.onAnswered?.(t);
        resolve();
      });
      req.end(body);
    });
  }

  /** Open loop: one order every 1/rate s for `durationMs`, whatever the answers do (capped at `maxInFlight`). */
  async openLoop(rate: number, durationMs: number, maxInFlight = 3000): Promise<void> {
    const start = performance.now();
    const total = Math.round((rate * durationMs) / 1000);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (this.inFlight >= maxInFlight) continue; // the target has stopped answering: drop, do not queue
      pending.push(this.post());
    }
    await Promise.all(pending);
  }

  /** A burst: `count` orders from `clients` concurrent clients, each posting its next as soon as one is answered. */
  async burst(count: number, clients: number): Promise<void> {
    let left = count;
    const client = async () => {
      while (left > 0) {
        left--;
        await this.post();
      }
    };
    await Promise.all(Array.from({ length: clients }, client));
  }

  accepted(): Tracked[] {
    return [...this.byId.values()].filter((t) => t.httpStatus && t.httpStatus < 300);
  }

  connectionsOpened(): number {
    return this.opened;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Reads final states from app.orders for this run's orders, newest first, on an interval. */
export class CompletionWatcher {
  private since = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** Final states read before the load process reported the order's answer: applied once it has. */
  private readonly early = new Map<string, { done: number; status: string }>();

  constructor(
    private readonly pool: Pool,
    private readonly orders: OrderLoad,
    private readonly prefix: string,
  ) {}

  start(intervalMs = 200): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.pool.query<{ order_id: string; status: string; done: number }>(
        `SELECT order_id, status, (extract(epoch FROM updated_at) * 1000)::float8 AS done
         FROM app.orders WHERE status = ANY($3)
           AND updated_at >= to_timestamp($1 / 1000.0) AND order_id LIKE $2`,
        [this.since, `${this.prefix}-%`, TERMINAL_STATUSES],
      );
      let newest = this.since;
      for (const r of rows) this.early.set(r.order_id, { done: r.done, status: r.status });
      for (const [id, r] of this.early) {
        const t = this.orders.byId.get(id);
        if (!t) continue;
        if (t.doneAt === undefined) {
          t.doneAt = r.done;
          t.status = r.status;
        }
        this.early.delete(id);
      }
      for (const r of rows) newest = Math.max(newest, r.done);
      // Transactions commit a little after their now(): look back a few seconds each time.
      this.since = Math.max(0, newest - 5000);
    } catch {
      // the next poll tries again
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.poll();
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
