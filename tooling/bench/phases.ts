import { TERMINAL_STATUSES } from '../../src/domain/types';
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../src/platform/config';
import { waitFor } from '../../src/platform/wait';
import type { Pool } from '../../src/platform/db/pool';
import { setStock } from '../../src/services/inventory/queries';
import { startDesign } from './designs';
import type { DesignName, Harness, RunningDesign } from './designs';
import { BENCH_SKUS, CompletionWatcher, percentile } from './load';
import type { ClientCost } from './client-cost';
import type { OrderLoad, Tracked } from './load';
import type { ProcessSampler } from './procfs';
import { progress } from './run-info';

/** A phase of a benchmark run: one load against one design, its orders followed to their end. */

export const round1 = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

export interface PhaseResult {
  orders: Tracked[];
  startedAt: number;
  loadEndsAt: number;
  drainedAt: number | undefined;
  timeline: TimelinePoint[];
  /** HTTP connections the load opened (keep-alive: about one per client). */
  connectionsOpened: number;
  /** What the load cost the process that generated it (the load process measures it). */
  clientCost?: ClientCost;
}

export interface TimelinePoint {
  t: number;
  accepted: number;
  done: number;
  backlog: number;
  acceptP99Ms: number | null;
  workerRssMb?: number;
}

/** How many requests, and their accept latency's p50, p99 and max. */
function acceptFigures(orders: Tracked[]) {
  const ms = orders.map((o) => o.acceptMs!);
  return {
    count: ms.length,
    p50Ms: round1(percentile(ms, 50)),
    p99Ms: round1(percentile(ms, 99)),
    maxMs: round1(ms.length ? Math.max(...ms) : NaN),
  };
}

/** Latency figures of a set of orders: accept (POST answered) and end to end (POST to final state). */
export function latencies(orders: Tracked[]) {
  const ok = orders.filter((o) => o.httpStatus && o.httpStatus < 300);
  const accept = acceptFigures(ok);
  const e2e = ok.filter((o) => o.doneAt !== undefined).map((o) => o.doneAt! - o.postedAt);
  const refusedBy: Record<string, number> = {};
  for (const o of orders)
    if (!(o.httpStatus && o.httpStatus < 300)) {
      const why = o.httpStatus ? String(o.httpStatus) : 'no answer';
      refusedBy[why] = (refusedBy[why] ?? 0) + 1;
    }
  return {
    posted: orders.length,
    accepted: ok.length,
    refused: orders.length - ok.length,
    /** The refused orders by HTTP status ('no answer' for a network error or timeout). */
    refusedBy,
    completed: ok.filter((o) => o.status === 'COMPLETED').length,
    failed: ok.filter((o) => o.status && o.status !== 'COMPLETED').length,
    acceptP50Ms: accept.p50Ms,
    acceptP99Ms: accept.p99Ms,
    acceptMaxMs: accept.maxMs,
    /**
     * Accept latency of the requests that opened a connection (each client's first, with its
     * connection's setup) and of those on a connection kept alive: where a burst's p99 comes from.
     */
    byConnection: {
      opened: acceptFigures(ok.filter((o) => o.newConnection)),
      keptAlive: acceptFigures(ok.filter((o) => o.newConnection === false)),
    },
    e2eP50Ms: round1(percentile(e2e, 50)),
    e2eP99Ms: round1(percentile(e2e, 99)),
  };
}

/**
 * When a step's backlog was gone: the time by which all its accepted orders but 1% (at least one) had
 * finished. One order held up by a single fault (a workflow task lost and retried after its 10 s
 * timeout) is not a backlog that fails to drain; undefined when more than that never finished.
 */
export function backlogDrainedAt(orders: Tracked[]): number | undefined {
  const done = orders
    .filter((o) => o.httpStatus && o.httpStatus < 300)
    .map((o) => o.doneAt ?? Infinity)
    .sort((a, b) => a - b);
  const allowed = Math.max(1, Math.floor(done.length / 100));
  if (done.length <= allowed) return done.length ? Math.min(...done) : undefined;
  const at = done[done.length - 1 - allowed]!;
  return Number.isFinite(at) ? at : undefined;
}

/** How long after the phase began its last order was answered. */
export function acceptedWithinSeconds(r: PhaseResult): number | null {
  const lastAccept = Math.max(...r.orders.map((o) => o.postedAt + (o.acceptMs ?? 0)));
  return round1((lastAccept - r.startedAt) / 1000);
}

/**
 * A load's figures: accept and end-to-end latencies, how long accepting all of it took, and the drain
 * rate (orders finished per second from the first post until the backlog was gone).
 */
export function phaseFigures(r: PhaseResult) {
  const l = latencies(r.orders);
  const drainedAt = backlogDrainedAt(r.orders);
  const drainSeconds = drainedAt !== undefined ? (drainedAt - r.startedAt) / 1000 : null;
  return {
    ...l,
    acceptSeconds: acceptedWithinSeconds(r),
    connectionsOpened: r.connectionsOpened,
    ...(r.clientCost ? { clientCost: r.clientCost } : {}),
    drainAfterMs: drainedAt !== undefined ? Math.max(0, drainedAt - r.loadEndsAt) : null,
    drainPerSec: drainSeconds ? round1(l.accepted / drainSeconds) : null,
  };
}

/** A load's figures in one progress line. */
export function phaseLine(r: PhaseResult): string {
  const f = phaseFigures(r);
  return (
    `${f.accepted}/${f.posted} accepted in ${f.acceptSeconds} s` +
    (f.refused ? ` (refused: ${JSON.stringify(f.refusedBy)})` : '') +
    `, ${f.completed} completed; ` +
    `accept p50 ${f.acceptP50Ms} ms p99 ${f.acceptP99Ms} ms max ${f.acceptMaxMs} ms` +
    byConnectionText(f.byConnection) +
    '; ' +
    `e2e p50 ${f.e2eP50Ms} ms p99 ${f.e2eP99Ms} ms; ` +
    (f.drainPerSec !== null ? `drained at ${f.drainPerSec} orders/s` : 'not drained')
  );
}

/** The accept latency on new and kept-alive connections, when the load opened any. */
export function byConnectionText(b: ReturnType<typeof latencies>['byConnection']): string {
  if (!b.opened.count) return '';
  const one = (name: string, f: ReturnType<typeof acceptFigures>) =>
    `${name} (${f.count}) p50 ${f.p50Ms} p99 ${f.p99Ms} ms`;
  return ` (${one('on new connections', b.opened)}, ${one('kept alive', b.keptAlive)})`;
}

export class DesignRun {
  private phases = 0;
  readonly finished: Tracked[] = [];

  /**
   * Waits until every order of this design's earlier phases has finished (at most `timeoutMs`), so a
   * phase measures its own load and not the backlog an overloaded step left behind.
   */
  async settle(timeoutMs: number, say: (line: string) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let reported = false;
    for (;;) {
      const { rows } = await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM app.orders
         WHERE order_id LIKE $1 AND status <> ALL($2)`,
        [`b${this.runId}-${this.name}-%`, TERMINAL_STATUSES],
      );
      const left = rows[0]?.n ?? 0;
      if (left === 0) return;
      if (Date.now() > deadline) {
        say(`${left} orders of earlier phases still unfinished; going on`);
        return;
      }
      if (!reported) say(`waiting for ${left} orders of earlier phases to finish`);
      reported = true;
      await delay(500);
    }
  }

  /**
   * Waits until `orders` orders of this design's phases labelled `label` have their workflows started
   * (at most `timeoutMs`): the API holds starts back while it accepts, so a backlog drains at full speed
   * only once its orders have all started.
   */
  async untilStarted(
    label: string,
    orders: number,
    timeoutMs: number,
    say: (line: string) => void,
  ): Promise<void> {
    const ids = `^b${this.runId}-${this.name}-[0-9]+${label}-`;
    await waitFor(
      `${orders} ${label} orders' workflows to start`,
      async () => {
        const { rows } = await this.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM app.orders WHERE order_id ~ $1 AND NOT start_pending`,
          [ids],
        );
        return (rows[0]?.n ?? 0) >= orders;
      },
      { timeoutMs, intervalMs: 200 },
    ).catch((err: unknown) => say(`${(err as Error).message.split('\n')[0]}; going on`));
  }

  constructor(
    readonly name: DesignName,
    private readonly running: RunningDesign,
    private readonly pool: Pool,
    private readonly runId: string,
    private readonly sampler: ProcessSampler,
  ) {}

  /**
   * Runs `load` against the design and follows its orders until all are done or `drainTimeoutMs`
   * after the load's scheduled end. `loadMs` is how long the load is meant to take (open loop).
   */
  async phase(
    label: string,
    load: (o: OrderLoad) => Promise<void>,
    opts: { loadMs?: number; drainTimeoutMs: number; timeline?: boolean; query?: string },
  ): Promise<PhaseResult> {
    const prefix = `b${this.runId}-${this.name}-${++this.phases}${label}`;
    const orders = this.running.newLoad(prefix, opts.query);
    const watcher = new CompletionWatcher(this.pool, orders, prefix);
    watcher.start(200);
    const startedAt = Date.now();
    const timeline: TimelinePoint[] = [];
    let lastAcceptCheck = startedAt;
    const sampleTimeline = () => {
      const now = Date.now();
      const all = [...orders.byId.values()];
      const accepted = all.filter((o) => o.httpStatus && o.httpStatus < 300);
      const done = accepted.filter((o) => o.doneAt !== undefined).length;
      const recent = all
        .filter(
          (o) =>
            o.acceptMs !== undefined &&
            o.postedAt + o.acceptMs > lastAcceptCheck &&
            o.postedAt + o.acceptMs <= now,
        )
        .map((o) => o.acceptMs!);
      lastAcceptCheck = now;
      const worker = this.sampler.currentRssMb()['temporal-worker'];
      timeline.push({
        t: (now - startedAt) / 1000,
        accepted: accepted.length,
        done,
        backlog: accepted.length - done,
        acceptP99Ms: recent.length ? round1(percentile(recent, 99)) : null,
        ...(worker !== undefined ? { workerRssMb: Math.round(worker) } : {}),
      });
    };
    const ticker = opts.timeline ? setInterval(sampleTimeline, 250) : undefined;
    const loading = load(orders);
    const loadEndsAt = startedAt + (opts.loadMs ?? 0);
    let drainedAt: number | undefined;
    const deadline = () => Math.max(loadEndsAt, Date.now() - 1) + opts.drainTimeoutMs;
    let settled = false;
    void loading.finally(() => (settled = true));
    let hardDeadline = loadEndsAt + opts.drainTimeoutMs;
    for (;;) {
      await delay(200);
      if (!settled) {
        hardDeadline = deadline();
        continue;
      }
      await watcher.poll();
      const accepted = orders.accepted();
      if (accepted.every((o) => o.doneAt !== undefined)) {
        drainedAt = Math.max(...accepted.map((o) => o.doneAt!), startedAt);
        break;
      }
      if (Date.now() > hardDeadline) break;
    }
    await loading;
    if (ticker) {
      sampleTimeline();
      clearInterval(ticker);
    }
    await watcher.stop();
    orders.close();
    const all = [...orders.byId.values()];
    this.finished.push(...all.filter((o) => o.doneAt !== undefined));
    return {
      orders: all,
      startedAt,
      loadEndsAt,
      drainedAt,
      timeline,
      connectionsOpened: orders.connectionsOpened(),
      clientCost: orders.clientCost?.(),
    };
  }
}

export async function setProviderLatency(config: Config, latencyMs: number): Promise<void> {
  for (const base of [config.providers.paymentUrl, config.providers.carrierUrl]) {
    const res = await fetch(`${base}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs }),
    });
    if (!res.ok) throw new Error(`${base} refused the latency setting: ${res.status}`);
  }
}

/** What every design's run works with: the bench stack, its database, and where logs go. */
export interface BenchContext {
  config: Config;
  pool: Pool;
  /** Prefixes every order id of this run. */
  runId: string;
  /** The environment of the design's processes. */
  env: NodeJS.ProcessEnv;
  logDir: string;
  harness: Harness;
}

/** Stock enough for any run, then the design's processes. */
export async function startFresh(name: DesignName, ctx: BenchContext): Promise<RunningDesign> {
  for (const sku of BENCH_SKUS) await setStock(ctx.pool, sku, 1_000_000_000);
  progress(`${name}: starting its processes`);
  return startDesign(name, ctx.config, ctx.env, ctx.logDir, ctx.harness);
}
