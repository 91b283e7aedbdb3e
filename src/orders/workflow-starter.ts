import { context } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { Pool } from 'pg';
import type { Logger } from '../platform/logger';
import type { OrderRequest } from '../domain/types';
import { markWorkflowsStarted, unstartedOrders } from './order-store';
import { backoffMs } from '../platform/backoff';
import { setTimeout as delay } from 'node:timers/promises';

export interface WorkflowStarterOptions {
  /** Starts the order's workflow; resolves false when it already exists. Idempotent. */
  start(order: OrderRequest): Promise<boolean>;
  pool: Pool;
  log: Logger;
  /** Starts in flight at once. */
  concurrency?: number;
  /**
   * While orders are being accepted (`whileAccepting`), how long an accepted order's start may wait
   * for the accepting to pause. Past it, starts go on one at a time even while orders keep coming.
   */
  holdMs?: number;
  /** How often the table is swept for accepted orders nobody is starting (after a restart). */
  sweepMs?: number;
  /** An order younger than this is left to whoever accepted it. */
  sweepGraceMs?: number;
}

/**
 * Starts the workflows of accepted orders outside the request that accepted them: the API answers once
 * the order's row is committed (the order is durable from then on), and a start that fails is retried
 * here, or found by the sweep after a restart, so no accepted order is left without its workflow.
 * Starting is idempotent (one run per order id ever), so two starters, or a sweep racing a start, are
 * harmless.
 */
export class WorkflowStarter {
  /** Each order with the trace context it was accepted in: its workflow's start continues that trace. */
  private readonly queue: { order: OrderRequest; trace: Context; queuedAt: number }[] = [];
  private readonly queued = new Set<string>();
  private readonly started: string[] = [];
  private active = 0;
  private stopping = false;
  private idle: (() => void)[] = [];
  private readonly sweepTimer: NodeJS.Timeout;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly concurrency: number;
  private readonly holdMs: number;
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly graceMs: number;
  /** Orders being accepted right now (`whileAccepting`). */
  private accepting = 0;

  constructor(private readonly opts: WorkflowStarterOptions) {
    this.concurrency = opts.concurrency ?? 16;
    this.holdMs = opts.holdMs ?? 1_000;
    this.graceMs = opts.sweepGraceMs ?? 10_000;
    this.sweepTimer = setInterval(() => void this.sweep(), opts.sweepMs ?? 5_000);
    this.sweepTimer.unref();
  }

  /** Orders accepted and not yet started by this starter. */
  get pending(): number {
    return this.queue.length + this.active;
  }

  /** Queues the start of an accepted order's workflow; returns at once. */
  enqueue(order: OrderRequest): void {
    if (this.queued.has(order.orderId)) return;
    this.queued.add(order.orderId);
    this.queue.push({ order, trace: context.active(), queuedAt: Date.now() });
    this.pump();
  }

  /**
   * Marks an order started whose run began otherwise (a waiting caller's update-with-start), in the
   * next batch of marks: nothing is started, and the sweep will not look for it.
   */
  markStarted(orderId: string): void {
    this.started.push(orderId);
    this.flushTimer ??= setTimeout(() => void this.flush(), 50);
  }

  /**
   * Runs the accepting of an order. Meanwhile no start begins — a start is the API's costliest work per
   * order, and each order is durable once its row commits — so a burst is answered first and its
   * workflows are started as soon as the accepting pauses; an order held `holdMs` is started anyway,
   * one at a time, so a stream that never pauses cannot hold the starts back for ever.
   */
  async whileAccepting<T>(accept: () => Promise<T>): Promise<T> {
    this.accepting++;
    try {
      return await accept();
    } finally {
      if (--this.accepting === 0) this.pump();
    }
  }

  /** Looks for accepted orders nobody started (the process that accepted them stopped first). */
  async sweep(): Promise<number> {
    if (this.stopping) return 0;
    try {
      const found = await unstartedOrders(
        this.opts.pool,
        new Date(Date.now() - this.graceMs),
        this.concurrency * 8,
      );
      const fresh = found.filter((o) => !this.queued.has(o.orderId));
      for (const o of fresh) this.enqueue(o);
      if (fresh.length)
        this.opts.log.info(
          { orders: fresh.length },
          'starting workflows of accepted orders found unstarted',
        );
      return fresh.length;
    } catch (err) {
      this.opts.log.warn({ err }, 'could not look for unstarted orders; trying again later');
      return 0;
    }
  }

  /** Stops taking work and waits for the starts in flight; what is still queued the next sweep starts. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.holdTimer);
    this.queue.length = 0;
    if (this.active) await new Promise<void>((r) => this.idle.push(r));
    await this.flush();
  }

  /** Starts allowed in flight now: all while nothing is being accepted, else one for an order held too long. */
  private limit(): number {
    if (!this.accepting) return this.concurrency;
    const oldest = this.queue[0];
    return oldest && Date.now() - oldest.queuedAt >= this.holdMs ? 1 : 0;
  }

  private pump(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    while (!this.stopping && this.queue.length && this.active < this.limit()) {
      const { order, trace } = this.queue.shift()!;
      this.active++;
      void context
        .with(trace, () => this.startWithRetries(order))
        .finally(() => {
          this.active--;
          this.queued.delete(order.orderId);
          if (!this.active) for (const r of this.idle.splice(0)) r();
          this.pump();
        });
    }
    // Orders held back by the accepting: look again when the oldest of them has waited long enough.
    const oldest = this.queue[0];
    if (!this.stopping && oldest && this.accepting && this.active === 0) {
      this.holdTimer = setTimeout(() => this.pump(), oldest.queuedAt + this.holdMs - Date.now());
      this.holdTimer.unref();
    }
  }

  private async startWithRetries(order: OrderRequest): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.opts.start(order);
        this.started.push(order.orderId);
        this.flushTimer ??= setTimeout(() => void this.flush(), 50);
        return;
      } catch (err) {
        const waitMs = backoffMs(attempt + 1, 100, 10_000);
        this.opts.log.warn(
          { err, orderId: order.orderId, attempt, retryInMs: waitMs },
          'could not start the order workflow; trying again',
        );
        await delay(waitMs);
      }
    }
  }

  /** Marks started orders in one statement per batch: one commit for many starts. */
  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const ids = this.started.splice(0);
    if (!ids.length) return;
    try {
      await markWorkflowsStarted(this.opts.pool, ids);
    } catch (err) {
      // Harmless: the sweep finds them, and a second start of an existing workflow changes nothing.
      this.opts.log.warn({ err, orders: ids.length }, 'could not mark orders started');
    }
  }
}
